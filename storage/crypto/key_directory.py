"""The key directory: create, load, rotate and retire the vault and signing keys (format v2).

The vault private keys are wrapped with AES-256-GCM under a random 256-bit *unseal key* that
is never written anywhere: it exists only as k-of-n SLIP-39 recovery shares held by trustees
(``vault_shares``), or as Argon2id (RFC 9106) of a passphrase the operator keeps. Nothing in
the directory alone opens them. Public keys are in the clear, so sealing new evidence works
while the vault is sealed. The checkpoint signing key is not a confidentiality key and is kept
unwrapped (mode 0600) so that checkpoints are signed while sealed (docs/security.md says what
that costs). Formats: docs/formats.md, "Vault key files".
"""

from __future__ import annotations

import base64
import binascii
import json
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

from storage.crypto import vault_shares
from storage.crypto.keys import PublicKeyRing, VaultKeyRing
from storage.errors import (
    KeyDirectoryOutdated,
    KeyFileCorrupt,
    KeyFileMissing,
    KeyFilePermissions,
    KeyMismatch,
    KeyRetireRefused,
    KeyUnavailable,
    WrongPassphrase,
    WrongShares,
)
from storage.files import fsync_dir

MANIFEST = "keyring.json"
MASTER_KEY = "master.key"  # format v1 only: its presence means the directory must be migrated
MANIFEST_FORMAT = "incidents-keyring/v2"
MANIFEST_FORMAT_V1 = "incidents-keyring/v1"
VAULT_FORMAT = "incidents-vault-key/v1"
SIGNING_FORMAT = "incidents-signing-key/v2"
SIGNING_FORMAT_V1 = "incidents-signing-key/v1"
VAULT_WRAP_AAD = b"incidents/vault-key/v1\x00"
SIGNING_WRAP_AAD = b"incidents/signing-key/v1\x00"
MLKEM768_PUBLIC_LEN = 1184
MLKEM_SEED_LEN = 64
X25519_LEN = 32
UNSEAL_KEY_LEN = 32
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


@dataclass(frozen=True)
class Created:
    """A new key directory: the recovery shares to hand to trustees, shown once."""

    shares: list[str]
    threshold: int
    method: str


def new_key_id() -> str:
    return secrets.token_hex(6)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise KeyFileCorrupt(f"{what} is missing or not a string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as e:
        raise KeyFileCorrupt(f"{what} is not valid base64") from e


def write_private(path: Path, data: bytes) -> None:
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


def read_private(path: Path) -> bytes:
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


def read_json(path: Path) -> dict[str, Any]:
    raw = read_private(path)
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise KeyFileCorrupt(f"{path} is not valid JSON") from e
    if not isinstance(doc, dict):
        raise KeyFileCorrupt(f"{path} is not a JSON object")
    return doc


def dump_json(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_key_id(key_id: Any) -> str:
    if not isinstance(key_id, str) or not KEY_ID_RE.fullmatch(key_id):
        raise KeyFileCorrupt(f"invalid key id {key_id!r}")
    return key_id


def wrap(wrapping_key: bytes, aad_label: bytes, key_id: str, secret: bytes) -> dict[str, str]:
    nonce = secrets.token_bytes(WRAP_NONCE_LEN)
    ct = AESGCM(wrapping_key).encrypt(nonce, secret, aad_label + key_id.encode("ascii"))
    return {"nonce": b64(nonce), "ciphertext": b64(ct)}


def unwrap(wrapping_key: bytes, aad_label: bytes, key_id: str, doc: Any, path: Path) -> bytes:
    if not isinstance(doc, dict):
        raise KeyFileCorrupt(f"{path}: wrapped_private_key is missing")
    nonce = unb64(doc.get("nonce"), f"{path}: nonce")
    ct = unb64(doc.get("ciphertext"), f"{path}: ciphertext")
    if len(nonce) != WRAP_NONCE_LEN:
        raise KeyFileCorrupt(f"{path}: nonce must be {WRAP_NONCE_LEN} bytes")
    try:
        return AESGCM(wrapping_key).decrypt(nonce, ct, aad_label + key_id.encode("ascii"))
    except InvalidTag as e:
        raise WrongPassphrase(
            f"{path} does not open: wrong shares or passphrase, or the key file was altered"
        ) from e


def vault_file(path: Path, key_id: str) -> Path:
    return path / f"vault-{key_id}.json"


def signing_file(path: Path, key_id: str) -> Path:
    return path / f"signing-{key_id}.json"


def derive(passphrase: str, salt: bytes, params: Argon2Params) -> bytes:
    kdf = Argon2id(salt=salt, length=UNSEAL_KEY_LEN, iterations=params.iterations,
                   lanes=params.lanes, memory_cost=params.memory_cost)
    return kdf.derive(passphrase.encode("utf-8"))


def write_vault_file(path: Path, unseal_key: bytes, secret: bytes, public: bytes,
                     key_id: str | None = None, created: str | None = None) -> str:
    """Write one vault key file, its private half wrapped under ``unseal_key``."""
    key_id = key_id or new_key_id()
    doc = {
        "format": VAULT_FORMAT,
        "key_id": key_id,
        "created": created or _now(),
        "hpke": {"kem": "MLKEM768-X25519", "kdf": "HKDF-SHA256", "aead": "AES-256-GCM"},
        "public_key": b64(public),
        "wrapped_private_key": wrap(unseal_key, VAULT_WRAP_AAD, key_id, secret),
    }
    write_private(vault_file(path, key_id), dump_json(doc))
    return key_id


def _new_vault_file(path: Path, unseal_key: bytes) -> str:
    mlkem_key = mlkem.MLKEM768PrivateKey.generate()
    x_key = x25519.X25519PrivateKey.generate()
    public = mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()
    secret = mlkem_key.private_bytes_raw() + x_key.private_bytes_raw()
    return write_vault_file(path, unseal_key, secret, public)


def write_signing_file(path: Path, key: Ed25519PrivateKey, key_id: str | None = None) -> str:
    """The signing key in the clear (mode 0600): checkpoints are signed while sealed."""
    key_id = key_id or new_key_id()
    doc = {
        "format": SIGNING_FORMAT,
        "key_id": key_id,
        "created": _now(),
        "algorithm": "Ed25519",
        "public_key": b64(key.public_key().public_bytes_raw()),
        "private_key": b64(key.private_bytes_raw()),
    }
    write_private(signing_file(path, key_id), dump_json(doc))
    return key_id


def new_unseal(
    *, shares: int = 1, threshold: int = 1, passphrase: str | None = None,
    argon2: Argon2Params = DEFAULT_ARGON2,
) -> tuple[bytes, dict[str, Any], list[str]]:
    """A fresh unseal key, its manifest entry and the shares that recover it (none for Argon2id)."""
    if passphrase is not None:
        salt = secrets.token_bytes(argon2.salt_len)
        entry: dict[str, Any] = {"method": "argon2id", "salt": b64(salt), **asdict(argon2)}
        del entry["salt_len"]
        return derive(passphrase, salt, argon2), entry, []
    unseal_key = secrets.token_bytes(UNSEAL_KEY_LEN)
    identifier, mnemonics = vault_shares.split(unseal_key, shares=shares, threshold=threshold)
    entry = {"method": "slip39", "identifier": identifier, "shares": shares,
             "threshold": threshold}
    return unseal_key, entry, mnemonics


def init_key_directory(
    path: Path, *, shares: int = 1, threshold: int = 1, passphrase: str | None = None,
    argon2: Argon2Params = DEFAULT_ARGON2,
) -> Created | None:
    """Create a key directory (vault key, signing key) unless one exists; None if it did.

    The unseal key is split into ``shares`` SLIP-39 shares of which ``threshold`` recover it,
    or derived from ``passphrase`` with Argon2id; it is returned only as those shares.
    """
    path = Path(path)
    if (path / MANIFEST).exists():
        return None
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    unseal_key, unseal, mnemonics = new_unseal(
        shares=shares, threshold=threshold, passphrase=passphrase, argon2=argon2)
    vault_id = _new_vault_file(path, unseal_key)
    signing_id = write_signing_file(path, Ed25519PrivateKey.generate())
    manifest = {
        "format": MANIFEST_FORMAT,
        "active": vault_id,
        "vault_keys": [vault_id],
        "signing_key": signing_id,
        "unseal": unseal,
    }
    # The manifest goes last: a directory without one is "absent" and gets re-created.
    write_private(path / MANIFEST, dump_json(manifest))
    return Created(shares=mnemonics, threshold=threshold if mnemonics else 0,
                   method=unseal["method"])


def read_manifest(path: Path) -> dict[str, Any]:
    """The v2 manifest, checked; an old one raises KeyDirectoryOutdated."""
    check_directory(path)
    manifest = read_json(path / MANIFEST)
    if manifest.get("format") == MANIFEST_FORMAT_V1 or (path / MASTER_KEY).exists():
        raise KeyDirectoryOutdated(
            f"{path} is in the old format (master.key or a stored passphrase): run "
            "`flask --app wsgi vault migrate`")
    if manifest.get("format") != MANIFEST_FORMAT:
        raise KeyFileCorrupt(f"{path / MANIFEST}: unknown format {manifest.get('format')!r}")
    keys = manifest.get("vault_keys")
    if not isinstance(keys, list) or not keys:
        raise KeyFileCorrupt(f"{path / MANIFEST}: 'vault_keys' must be a non-empty list")
    for key_id in keys:
        check_key_id(key_id)
    if check_key_id(manifest.get("active")) not in keys:
        raise KeyFileCorrupt(f"{path / MANIFEST}: the active key is not among 'vault_keys'")
    check_key_id(manifest.get("signing_key"))
    unseal = manifest.get("unseal")
    if not isinstance(unseal, dict) or unseal.get("method") not in {"slip39", "argon2id"}:
        raise KeyFileCorrupt(f"{path / MANIFEST}: 'unseal' is missing or unknown")
    return manifest


def check_directory(path: Path) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError as e:
        raise KeyFileMissing(f"key directory {path} does not exist") from e
    if st.st_mode & 0o022:
        raise KeyFilePermissions(f"key directory {path} is writable by group or others (chmod 700)")


def _vault_doc(path: Path, key_id: str) -> tuple[dict[str, Any], bytes]:
    file = vault_file(path, key_id)
    doc = read_json(file)
    if doc.get("format") != VAULT_FORMAT or doc.get("key_id") != key_id:
        raise KeyFileCorrupt(f"{file}: wrong format or key id")
    public = unb64(doc.get("public_key"), f"{file}: public_key")
    if len(public) != MLKEM768_PUBLIC_LEN + X25519_LEN:
        raise KeyFileCorrupt(f"{file}: public key has the wrong length")
    return doc, public


def public_key_from_bytes(public: bytes) -> hpke.MLKEM768X25519PublicKey:
    return hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(public[:MLKEM768_PUBLIC_LEN]),
        x25519.X25519PublicKey.from_public_bytes(public[MLKEM768_PUBLIC_LEN:]))


def private_key_from_secret(
    secret: bytes, public: bytes, file: Path
) -> hpke.MLKEM768X25519PrivateKey:
    """The hybrid private key from its 96-byte secret, checked against the stored public key."""
    if len(secret) != MLKEM_SEED_LEN + X25519_LEN:
        raise KeyFileCorrupt(f"{file}: wrapped private key has the wrong length")
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(secret[:MLKEM_SEED_LEN])
    x_key = x25519.X25519PrivateKey.from_private_bytes(secret[MLKEM_SEED_LEN:])
    derived = mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()
    if not secrets.compare_digest(derived, public):
        raise KeyMismatch(f"{file}: the stored public key does not match its private key")
    return hpke.MLKEM768X25519PrivateKey(mlkem_key, x_key)


def load_signing_key(path: Path, key_id: str) -> Ed25519PrivateKey:
    file = signing_file(path, key_id)
    doc = read_json(file)
    if doc.get("format") != SIGNING_FORMAT or doc.get("key_id") != key_id:
        raise KeyFileCorrupt(f"{file}: wrong format or key id")
    public = unb64(doc.get("public_key"), f"{file}: public_key")
    try:
        key = Ed25519PrivateKey.from_private_bytes(unb64(doc.get("private_key"),
                                                         f"{file}: private_key"))
    except ValueError as e:
        raise KeyFileCorrupt(f"{file}: private key has the wrong length") from e
    if not secrets.compare_digest(key.public_key().public_bytes_raw(), public):
        raise KeyMismatch(f"{file}: the stored public key does not match its private key")
    return key


def load_public_ring(path: Path) -> PublicKeyRing:
    """What a sealed instance can use: every vault public key and the signing key."""
    path = Path(path)
    manifest = read_manifest(path)
    public = {key_id: public_key_from_bytes(_vault_doc(path, key_id)[1])
              for key_id in manifest["vault_keys"]}
    return PublicKeyRing(active=manifest["active"], public_keys=public,
                         signing_key=load_signing_key(path, manifest["signing_key"]))


def unseal_method(path: Path) -> dict[str, Any]:
    """The manifest's public description of how the vault is unsealed (no secret in it)."""
    return dict(read_manifest(Path(path))["unseal"])


def unseal_key_from_shares(path: Path, mnemonics: list[str]) -> bytes:
    """Combine trustees' shares into the unseal key and prove it opens the active vault key."""
    path = Path(path)
    unseal = read_manifest(path)["unseal"]
    if unseal["method"] != "slip39":
        raise WrongShares("this vault is unsealed with a passphrase, not with shares")
    for mnemonic in mnemonics:
        vault_shares.inspect(mnemonic, int(unseal["identifier"]))
    key = vault_shares.combine(mnemonics)
    check_unseal_key(path, key)
    return key


def unseal_key_from_passphrase(path: Path, passphrase: str) -> bytes:
    """Argon2id of the operator's passphrase with the manifest's salt and cost."""
    path = Path(path)
    unseal = read_manifest(path)["unseal"]
    if unseal["method"] != "argon2id":
        raise WrongShares("this vault is unsealed with recovery shares, not with a passphrase")
    try:
        params = Argon2Params(memory_cost=int(unseal["memory_cost"]),
                              iterations=int(unseal["iterations"]), lanes=int(unseal["lanes"]))
    except (KeyError, TypeError, ValueError) as e:
        raise KeyFileCorrupt(f"{path / MANIFEST}: bad Argon2id parameters") from e
    key = derive(passphrase, unb64(unseal.get("salt"), f"{path / MANIFEST}: salt"), params)
    check_unseal_key(path, key)
    return key


def check_unseal_key(path: Path, unseal_key: bytes) -> None:
    """Raise WrongShares unless ``unseal_key`` opens the active vault key."""
    manifest = read_manifest(path)
    try:
        _load_private(path, manifest["active"], unseal_key)
    except WrongPassphrase as e:
        raise WrongShares("the shares or passphrase do not open this vault") from e


def _load_private(path: Path, key_id: str, unseal_key: bytes) -> hpke.MLKEM768X25519PrivateKey:
    doc, public = _vault_doc(path, key_id)
    file = vault_file(path, key_id)
    secret = unwrap(unseal_key, VAULT_WRAP_AAD, key_id, doc.get("wrapped_private_key"), file)
    return private_key_from_secret(secret, public, file)


def load_key_ring(path: Path, unseal_key: bytes) -> VaultKeyRing:
    """Every vault private key, opened with the unseal key (only the key agent does this)."""
    path = Path(path)
    manifest = read_manifest(path)
    public = load_public_ring(path)
    private = {key_id: _load_private(path, key_id, unseal_key)
               for key_id in manifest["vault_keys"]}
    return VaultKeyRing(active=manifest["active"], private_keys=private,
                        public_keys=public.public_keys, signing_key=public.signing_key())


def rotate_vault_key(path: Path, unseal_key: bytes) -> str:
    """Make a new vault key active and return its id; older private keys stay until retired."""
    path = Path(path)
    # Opening the active key first proves the unseal key, so the new key is wrapped under
    # the same shares or passphrase as the others.
    check_unseal_key(path, unseal_key)
    manifest = read_manifest(path)
    key_id = _new_vault_file(path, unseal_key)
    manifest["vault_keys"] = [*manifest["vault_keys"], key_id]
    manifest["active"] = key_id
    write_private(path / MANIFEST, dump_json(manifest))
    return key_id


def retire_vault_key(path: Path, key_id: str) -> None:
    """Delete an inactive vault key's private half.

    The caller must first re-seal every data key sealed to it (``reseal``): blobs whose
    only sealed key uses a retired vault key can never be read again.
    """
    path = Path(path)
    manifest = read_manifest(path)
    if key_id == manifest["active"]:
        raise KeyRetireRefused(f"vault key {key_id} is active; rotate before retiring it")
    if key_id not in manifest["vault_keys"]:
        raise KeyUnavailable(f"vault key {key_id} is not in {path / MANIFEST}")
    manifest["vault_keys"] = [k for k in manifest["vault_keys"] if k != key_id]
    write_private(path / MANIFEST, dump_json(manifest))
    vault_file(path, key_id).unlink(missing_ok=True)
    fsync_dir(path)
