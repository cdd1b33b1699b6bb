"""One-way migration of a v1 key directory (``master.key`` or a stored passphrase) to v2.

v1 wrapped every private key under ``master.key`` beside them, or under Argon2id of a
passphrase kept in the service's environment: a copy of the disk opened everything. The
migration opens the v1 keys once, wraps the vault keys under a new unseal key that exists only
as recovery shares (or the operator's new passphrase), writes the signing key in the v2 form,
replaces the manifest, and overwrites and removes ``master.key``. It refuses to report success
while ``master.key`` is still there. Vault key ids, and so every sealed data key, are unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage.crypto import key_directory as kd
from storage.errors import KeyFileCorrupt, KeyStoreError, WrongPassphrase
from storage.files import fsync_dir


class MigrationRefused(KeyStoreError):
    """The directory is not v1, or the old wrapping key could not be removed."""


def is_v1(path: Path) -> bool:
    path = Path(path)
    if (path / kd.MASTER_KEY).exists():
        return True
    try:
        return kd.read_json(path / kd.MANIFEST).get("format") == kd.MANIFEST_FORMAT_V1
    except KeyStoreError:
        return False


def _v1_wrapping_key(path: Path, manifest: dict[str, Any], passphrase: str | None) -> bytes:
    wrapping = manifest.get("wrapping")
    if not isinstance(wrapping, dict):
        raise KeyFileCorrupt(f"{path / kd.MANIFEST}: 'wrapping' is missing")
    method = wrapping.get("method")
    if method == "key-file":
        key = kd.read_private(path / kd.MASTER_KEY)
        if len(key) != 32:
            raise KeyFileCorrupt(f"{path / kd.MASTER_KEY} must hold exactly 32 bytes")
        return key
    if method == "argon2id":
        if passphrase is None:
            raise WrongPassphrase(f"key directory {path} needs its old passphrase")
        try:
            params = kd.Argon2Params(memory_cost=int(wrapping["memory_cost"]),
                                     iterations=int(wrapping["iterations"]),
                                     lanes=int(wrapping["lanes"]))
        except (KeyError, TypeError, ValueError) as e:
            raise KeyFileCorrupt(f"{path / kd.MANIFEST}: bad Argon2id parameters") from e
        return kd.derive(passphrase, kd.unb64(wrapping.get("salt"), "salt"), params)
    raise KeyFileCorrupt(f"{path / kd.MANIFEST}: unknown wrapping method {method!r}")


def _shred(path: Path) -> None:
    """Overwrite in place, fsync, unlink, fsync the directory; then insist it is gone.

    On a copy-on-write or journalling file system, or an SSD, the old blocks may survive the
    overwrite: docs/deployment.md tells operators to treat old disks and backups as exposed.
    """
    if not path.exists():
        return
    size = path.stat().st_size
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    try:
        os.write(fd, b"\x00" * size)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()
    fsync_dir(path.parent)
    if path.exists():
        raise MigrationRefused(f"{path} could not be removed: delete it by hand, then retry")


def migrate_key_directory(
    path: Path, *, old_passphrase: str | None = None, shares: int = 1, threshold: int = 1,
    passphrase: str | None = None, argon2: kd.Argon2Params = kd.DEFAULT_ARGON2,
) -> kd.Created:
    """Re-wrap a v1 directory under a new unseal key; returns the new shares (shown once)."""
    path = Path(path)
    if not is_v1(path):
        raise MigrationRefused(f"{path} is not an old-format key directory; nothing to migrate")
    kd.check_directory(path)
    manifest = kd.read_json(path / kd.MANIFEST)
    wrapping_key = _v1_wrapping_key(path, manifest, old_passphrase)
    # Open everything first: a wrong passphrase or a damaged file changes nothing on disk.
    vault: list[tuple[str, dict[str, Any], bytes, bytes]] = []
    for key_id in manifest.get("vault_keys", []):
        file = kd.vault_file(path, kd.check_key_id(key_id))
        doc = kd.read_json(file)
        public = kd.unb64(doc.get("public_key"), f"{file}: public_key")
        secret = kd.unwrap(wrapping_key, kd.VAULT_WRAP_AAD, key_id,
                           doc.get("wrapped_private_key"), file)
        kd.private_key_from_secret(secret, public, file)
        vault.append((key_id, doc, secret, public))
    signing_id = kd.check_key_id(manifest.get("signing_key"))
    file = kd.signing_file(path, signing_id)
    doc = kd.read_json(file)
    signing = Ed25519PrivateKey.from_private_bytes(kd.unwrap(
        wrapping_key, kd.SIGNING_WRAP_AAD, signing_id, doc.get("wrapped_private_key"), file))
    unseal_key, unseal, mnemonics = kd.new_unseal(
        shares=shares, threshold=threshold, passphrase=passphrase, argon2=argon2)
    for key_id, doc, secret, public in vault:
        kd.write_vault_file(path, unseal_key, secret, public, key_id=key_id,
                            created=doc.get("created"))
    kd.write_signing_file(path, signing, key_id=signing_id)
    new_manifest = {
        "format": kd.MANIFEST_FORMAT,
        "active": kd.check_key_id(manifest.get("active")),
        "vault_keys": [key_id for key_id, *_ in vault],
        "signing_key": signing_id,
        "unseal": unseal,
    }
    kd.write_private(path / kd.MANIFEST, kd.dump_json(new_manifest))
    _shred(path / kd.MASTER_KEY)
    kd.check_unseal_key(path, unseal_key)
    return kd.Created(shares=mnemonics, threshold=threshold if mnemonics else 0,
                      method=unseal["method"])
