"""The key directory: create, load, rotate and retire the vault and signing keys.

Private keys are never stored in plaintext: each key file holds them wrapped with
AES-256-GCM under a wrapping key that is either derived from an operator passphrase with
Argon2id (RFC 9106) or, in the embedded default, read from ``master.key`` in the same
directory. The file formats are specified in docs/formats.md, "Vault key files".
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
import stat
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from storage.crypto.keys import VaultKeyRing
from storage.errors import (
    KeyFileCorrupt,
    KeyFileMissing,
    KeyFilePermissions,
    KeyMismatch,
    KeyRetireRefused,
    KeyStoreError,
    KeyUnavailable,
    WrongPassphrase,
)
from storage.files import fsync_dir

log = logging.getLogger(__name__)

MANIFEST = "keyring.json"
MASTER_KEY = "master.key"
MANIFEST_FORMAT = "incidents-keyring/v1"
VAULT_FORMAT = "incidents-vault-key/v1"
SIGNING_FORMAT = "incidents-signing-key/v1"
VAULT_WRAP_AAD = b"incidents/vault-key/v1\x00"
SIGNING_WRAP_AAD = b"incidents/signing-key/v1\x00"
MLKEM768_PUBLIC_LEN = 1184
MLKEM_SEED_LEN = 64
X25519_LEN = 32
WRAP_NONCE_LEN = 12
KEY_ID_RE = re.compile(r"[a-z0-9]{4,32}")


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost (RFC 9106 §4, second recommended option by default); memory in KiB."""

    memory_cost: int = 64 * 1024
    iterations: int = 3
    lanes: int = 4
    salt_len: int = 16


DEFAULT_ARGON2 = Argon2Params()


def _new_key_id() -> str:
    return secrets.token_hex(6)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise KeyFileCorrupt(f"{what} is missing or not a string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as e:
        raise KeyFileCorrupt(f"{what} is not valid base64") from e


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename) with mode 0600."""
    tmp = path.parent / f".tmp-{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _read_private(path: Path) -> bytes:
    """Read a key file, refusing it when missing or open to group/others."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError as e:
        raise KeyFileMissing(f"key file {path} is missing") from e
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileCorrupt(f"key file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise KeyFilePermissions(
            f"key file {path} has mode {stat.S_IMODE(st.st_mode):04o}; "
            "it must be readable by its owner only (chmod 600)"
        )
    return path.read_bytes()


def _read_json(path: Path) -> dict[str, Any]:
    raw = _read_private(path)
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise KeyFileCorrupt(f"{path} is not valid JSON") from e
    if not isinstance(doc, dict):
        raise KeyFileCorrupt(f"{path} is not a JSON object")
    return doc


def _dump_json(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_key_id(key_id: Any) -> str:
    if not isinstance(key_id, str) or not KEY_ID_RE.fullmatch(key_id):
        raise KeyFileCorrupt(f"invalid key id {key_id!r}")
    return key_id


def _wrap(wrapping_key: bytes, aad_label: bytes, key_id: str, secret: bytes) -> dict[str, str]:
    nonce = secrets.token_bytes(WRAP_NONCE_LEN)
    ct = AESGCM(wrapping_key).encrypt(nonce, secret, aad_label + key_id.encode("ascii"))
    return {"nonce": _b64(nonce), "ciphertext": _b64(ct)}


def _unwrap(wrapping_key: bytes, aad_label: bytes, key_id: str, doc: Any, path: Path) -> bytes:
    if not isinstance(doc, dict):
        raise KeyFileCorrupt(f"{path}: wrapped_private_key is missing")
    nonce = _unb64(doc.get("nonce"), f"{path}: nonce")
    ct = _unb64(doc.get("ciphertext"), f"{path}: ciphertext")
    if len(nonce) != WRAP_NONCE_LEN:
        raise KeyFileCorrupt(f"{path}: nonce must be {WRAP_NONCE_LEN} bytes")
    try:
        return AESGCM(wrapping_key).decrypt(nonce, ct, aad_label + key_id.encode("ascii"))
    except InvalidTag as e:
        raise WrongPassphrase(
            f"{path} does not open: wrong passphrase or master.key, or the key file was altered"
        ) from e


def _vault_file(path: Path, key_id: str) -> Path:
    return path / f"vault-{key_id}.json"


def _signing_file(path: Path, key_id: str) -> Path:
    return path / f"signing-{key_id}.json"


def _wrapping_key(path: Path, manifest: dict[str, Any], passphrase: str | None) -> bytes:
    wrapping = manifest.get("wrapping")
    if not isinstance(wrapping, dict):
        raise KeyFileCorrupt(f"{path / MANIFEST}: 'wrapping' is missing")
    method = wrapping.get("method")
    if method == "key-file":
        if passphrase is not None:
            raise KeyStoreError(
                f"key directory {path} is protected by {MASTER_KEY}, not by a passphrase"
            )
        key = _read_private(path / MASTER_KEY)
        if len(key) != 32:
            raise KeyFileCorrupt(f"{path / MASTER_KEY} must hold exactly 32 bytes")
        log.warning(
            "vault private keys are protected only by master.key in the same directory: "
            "anyone who copies that directory can read all evidence; use a passphrase"
        )
        return key
    if method == "argon2id":
        if passphrase is None:
            raise WrongPassphrase(f"key directory {path} needs its passphrase")
        try:
            params = Argon2Params(
                memory_cost=int(wrapping["memory_cost"]),
                iterations=int(wrapping["iterations"]),
                lanes=int(wrapping["lanes"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise KeyFileCorrupt(f"{path / MANIFEST}: bad Argon2id parameters") from e
        salt = _unb64(wrapping.get("salt"), f"{path / MANIFEST}: salt")
        return _derive(passphrase, salt, params)
    raise KeyFileCorrupt(f"{path / MANIFEST}: unknown wrapping method {method!r}")


def _derive(passphrase: str, salt: bytes, params: Argon2Params) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_cost,
    )
    return kdf.derive(passphrase.encode("utf-8"))


def _new_vault_file(path: Path, wrapping_key: bytes) -> str:
    key_id = _new_key_id()
    mlkem_key = mlkem.MLKEM768PrivateKey.generate()
    x_key = x25519.X25519PrivateKey.generate()
    public = mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()
    secret = mlkem_key.private_bytes_raw() + x_key.private_bytes_raw()
    doc = {
        "format": VAULT_FORMAT,
        "key_id": key_id,
        "created": _now(),
        "hpke": {"kem": "MLKEM768-X25519", "kdf": "HKDF-SHA256", "aead": "AES-256-GCM"},
        "public_key": _b64(public),
        "wrapped_private_key": _wrap(wrapping_key, VAULT_WRAP_AAD, key_id, secret),
    }
    _write_private(_vault_file(path, key_id), _dump_json(doc))
    return key_id


def _new_signing_file(path: Path, wrapping_key: bytes) -> str:
    key_id = _new_key_id()
    key = Ed25519PrivateKey.generate()
    wrapped = _wrap(wrapping_key, SIGNING_WRAP_AAD, key_id, key.private_bytes_raw())
    doc = {
        "format": SIGNING_FORMAT,
        "key_id": key_id,
        "created": _now(),
        "algorithm": "Ed25519",
        "public_key": _b64(key.public_key().public_bytes_raw()),
        "wrapped_private_key": wrapped,
    }
    _write_private(_signing_file(path, key_id), _dump_json(doc))
    return key_id


def init_key_directory(
    path: Path, *, passphrase: str | None = None, argon2: Argon2Params = DEFAULT_ARGON2
) -> None:
    """Create a key directory with a vault key and a signing key, unless one exists already.

    Without a passphrase the private keys are wrapped under a random ``master.key`` in the
    same directory (the embedded default; a warning is logged whenever it is loaded).
    """
    path = Path(path)
    if (path / MANIFEST).exists():
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if passphrase is None:
        wrapping_key = secrets.token_bytes(32)
        _write_private(path / MASTER_KEY, wrapping_key)
        wrapping: dict[str, Any] = {"method": "key-file", "file": MASTER_KEY}
    else:
        salt = secrets.token_bytes(argon2.salt_len)
        wrapping_key = _derive(passphrase, salt, argon2)
        wrapping = {"method": "argon2id", "salt": _b64(salt), **asdict(argon2)}
        del wrapping["salt_len"]
    vault_id = _new_vault_file(path, wrapping_key)
    signing_id = _new_signing_file(path, wrapping_key)
    manifest = {
        "format": MANIFEST_FORMAT,
        "active": vault_id,
        "vault_keys": [vault_id],
        "signing_key": signing_id,
        "wrapping": wrapping,
    }
    # The manifest goes last: a directory without one is "absent" and gets re-created.
    _write_private(path / MANIFEST, _dump_json(manifest))


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest = _read_json(path / MANIFEST)
    if manifest.get("format") != MANIFEST_FORMAT:
        raise KeyFileCorrupt(f"{path / MANIFEST}: unknown format {manifest.get('format')!r}")
    keys = manifest.get("vault_keys")
    if not isinstance(keys, list) or not keys:
        raise KeyFileCorrupt(f"{path / MANIFEST}: 'vault_keys' must be a non-empty list")
    for key_id in keys:
        _check_key_id(key_id)
    if _check_key_id(manifest.get("active")) not in keys:
        raise KeyFileCorrupt(f"{path / MANIFEST}: the active key is not among 'vault_keys'")
    _check_key_id(manifest.get("signing_key"))
    return manifest


def _load_vault_key(
    path: Path, key_id: str, wrapping_key: bytes
) -> tuple[hpke.MLKEM768X25519PrivateKey, hpke.MLKEM768X25519PublicKey]:
    file = _vault_file(path, key_id)
    doc = _read_json(file)
    if doc.get("format") != VAULT_FORMAT or doc.get("key_id") != key_id:
        raise KeyFileCorrupt(f"{file}: wrong format or key id")
    public = _unb64(doc.get("public_key"), f"{file}: public_key")
    secret = _unwrap(wrapping_key, VAULT_WRAP_AAD, key_id, doc.get("wrapped_private_key"), file)
    if len(secret) != MLKEM_SEED_LEN + X25519_LEN:
        raise KeyFileCorrupt(f"{file}: wrapped private key has the wrong length")
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(secret[:MLKEM_SEED_LEN])
    x_key = x25519.X25519PrivateKey.from_private_bytes(secret[MLKEM_SEED_LEN:])
    derived = mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()
    if not secrets.compare_digest(derived, public):
        raise KeyMismatch(f"{file}: the stored public key does not match its private key")
    return (
        hpke.MLKEM768X25519PrivateKey(mlkem_key, x_key),
        hpke.MLKEM768X25519PublicKey(mlkem_key.public_key(), x_key.public_key()),
    )


def _load_signing_key(path: Path, key_id: str, wrapping_key: bytes) -> Ed25519PrivateKey:
    file = _signing_file(path, key_id)
    doc = _read_json(file)
    if doc.get("format") != SIGNING_FORMAT or doc.get("key_id") != key_id:
        raise KeyFileCorrupt(f"{file}: wrong format or key id")
    public = _unb64(doc.get("public_key"), f"{file}: public_key")
    secret = _unwrap(wrapping_key, SIGNING_WRAP_AAD, key_id, doc.get("wrapped_private_key"), file)
    try:
        key = Ed25519PrivateKey.from_private_bytes(secret)
    except ValueError as e:
        raise KeyFileCorrupt(f"{file}: wrapped private key has the wrong length") from e
    if not secrets.compare_digest(key.public_key().public_bytes_raw(), public):
        raise KeyMismatch(f"{file}: the stored public key does not match its private key")
    return key


def _check_directory(path: Path) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError as e:
        raise KeyFileMissing(f"key directory {path} does not exist") from e
    if st.st_mode & 0o022:
        raise KeyFilePermissions(f"key directory {path} is writable by group or others (chmod 700)")


def _load(path: Path, passphrase: str | None) -> tuple[VaultKeyRing, dict[str, Any], bytes]:
    _check_directory(path)
    manifest = _read_manifest(path)
    wrapping_key = _wrapping_key(path, manifest, passphrase)
    private: dict[str, hpke.MLKEM768X25519PrivateKey] = {}
    public: dict[str, hpke.MLKEM768X25519PublicKey] = {}
    for key_id in manifest["vault_keys"]:
        private[key_id], public[key_id] = _load_vault_key(path, key_id, wrapping_key)
    signing = _load_signing_key(path, manifest["signing_key"], wrapping_key)
    ring = VaultKeyRing(
        active=manifest["active"], private_keys=private, public_keys=public, signing_key=signing
    )
    return ring, manifest, wrapping_key


def load_key_ring(
    path: Path, *, passphrase: str | None = None, argon2: Argon2Params | None = None
) -> VaultKeyRing:
    """Load and check every key in the directory; refuse with a named KeyStoreError otherwise.

    ``argon2`` is accepted so callers can hand the same settings to init and load; the
    parameters actually used are the ones recorded in the manifest when the directory was made.
    """
    del argon2
    return _load(Path(path), passphrase)[0]


def rotate_vault_key(path: Path, *, passphrase: str | None = None) -> str:
    """Make a new vault key active and return its id; older private keys stay until retired."""
    path = Path(path)
    # Loading every key first proves the wrapping key, so the new key is wrapped under the
    # same passphrase (or master.key) as the others.
    _, manifest, wrapping_key = _load(path, passphrase)
    key_id = _new_vault_file(path, wrapping_key)
    manifest["vault_keys"] = [*manifest["vault_keys"], key_id]
    manifest["active"] = key_id
    _write_private(path / MANIFEST, _dump_json(manifest))
    return key_id


def retire_vault_key(path: Path, key_id: str) -> None:
    """Delete an inactive vault key's private half.

    The caller must first re-seal every data key sealed to it (``reseal``): blobs whose
    only sealed key uses a retired vault key can never be read again.
    """
    path = Path(path)
    manifest = _read_manifest(path)
    if key_id == manifest["active"]:
        raise KeyRetireRefused(f"vault key {key_id} is active; rotate before retiring it")
    if key_id not in manifest["vault_keys"]:
        raise KeyUnavailable(f"vault key {key_id} is not in {path / MANIFEST}")
    manifest["vault_keys"] = [k for k in manifest["vault_keys"] if k != key_id]
    _write_private(path / MANIFEST, _dump_json(manifest))
    _vault_file(path, key_id).unlink(missing_ok=True)
    fsync_dir(path)
