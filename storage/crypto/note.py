"""C2SP signed notes and transparency-log checkpoints, signed with Ed25519.

Formats: https://c2sp.org/signed-note (v1.0.0) and https://c2sp.org/tlog-checkpoint.

A checkpoint's note text is::

    <origin>\\n<tree size, decimal>\\n<base64 RFC 6962 root>\\n[time <RFC 3339 UTC>\\n]

followed by a blank line and signature lines ``— <key name> <base64(key id || sig)>``.
The ``time`` line is a tlog-checkpoint *extension line* (opaque, optional, non-empty);
generic checkpoint readers keep or ignore it, and the Ed25519 signature covers it
because Ed25519 note signatures are over the whole note text, final newline included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from storage.crypto.merkle import HASH_SIZE, CheckpointError

EM_DASH = "\u2014"
ALG_ED25519 = 0x01
TIME_EXTENSION = "time"
MAX_SIGNATURES = 100  # the spec requires accepting at least 16
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class NoteError(CheckpointError):
    """A signed note or checkpoint is malformed."""


class NoteSignatureError(NoteError):
    """A signed note has no valid signature from the expected key."""


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a signed note."""

    key_name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A parsed tlog checkpoint; ``text`` is the exact signed note text (the body)."""

    origin: str
    size: int
    root: bytes
    time: datetime | None
    extensions: tuple[str, ...]
    signatures: tuple[NoteSignature, ...]
    text: str


def key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """Return the 4-byte key ID: SHA-256(name || 0x0A || 0x01 || 32-byte key)[:4]."""
    _check_key_name(key_name)
    material = key_name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + _raw(public_key)
    return hashlib.sha256(material).digest()[:4]


SigningPublicKey = Ed25519PublicKey  # the name the rest of the code uses for it


def public_key_from_pem(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from SubjectPublicKeyInfo PEM (what a verifier holds: checking
    a checkpoint never needs the private key)."""
    try:
        key = load_pem_public_key(pem)
    except ValueError as e:
        raise NoteError("not a PEM public key") from e
    if not isinstance(key, Ed25519PublicKey):
        raise NoteError("not an Ed25519 public key")
    return key


def verifier_key(key_name: str, public_key: Ed25519PublicKey) -> str:
    """Return the verifier key string ``<name>+<hex key id>+<base64(0x01 || key)>``."""
    encoded = base64.b64encode(bytes([ALG_ED25519]) + _raw(public_key)).decode("ascii")
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """Parse a verifier key string into (key name, public key), checking its key ID."""
    # Key names may not contain "+" (C2SP signed-note), but standard base64 may.
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise NoteError("verifier key must be <name>+<hex id>+<base64 key>")
    name, id_hex, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed_id = bytes.fromhex(id_hex)
    except (binascii.Error, ValueError) as e:
        raise NoteError("verifier key is not valid hex/base64") from e
    if len(raw) != 33 or raw[0] != ALG_ED25519 or len(claimed_id) != 4:
        raise NoteError("verifier key is not an Ed25519 key")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, public_key) != claimed_id:
        raise NoteError("verifier key ID does not match the key")
    return name, public_key


def sign_note(text: str, private_key: Ed25519PrivateKey, key_name: str) -> str:
    """Return ``text`` signed as a C2SP note by ``private_key`` under ``key_name``."""
    _check_text(text)
    sig = private_key.sign(text.encode("utf-8"))
    kid = key_id(key_name, private_key.public_key())
    encoded = base64.b64encode(kid + sig).decode("ascii")
    return f"{text}\n{EM_DASH} {key_name} {encoded}\n"


def split_note(note: str) -> tuple[str, tuple[NoteSignature, ...]]:
    """Split a signed note into its text and signature lines, without verifying."""
    if _CONTROL_RE.search(note):
        raise NoteError("note contains control characters")
    sep = note.rfind("\n\n")
    if sep < 0 or not note.endswith("\n"):
        raise NoteError("note has no signature block")
    text, block = note[: sep + 1], note[sep + 2 :]
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("note has too many signatures")
    signatures = []
    for line in lines:
        prefix, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        if prefix != EM_DASH or not name or not encoded or " " in encoded:
            raise NoteError("malformed signature line")
        try:
            _check_key_name(name)
            blob = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as e:
            raise NoteError("malformed signature line") from e
        if len(blob) < 5:
            raise NoteError("signature is too short")
        signatures.append(NoteSignature(name, blob[:4], blob[4:]))
    return text, tuple(signatures)


def open_note(note: str, public_key: Ed25519PublicKey, key_name: str) -> str:
    """Return the note text if it carries a valid signature by (key_name, public_key).

    Per the spec, signatures by other keys are ignored, but a signature that names
    this key (name and key ID) and fails to verify rejects the whole note.
    """
    text, signatures = split_note(note)
    kid = key_id(key_name, public_key)
    known = [s for s in signatures if s.key_name == key_name and s.key_id == kid]
    if not known:
        raise NoteSignatureError(f"note has no signature by key {key_name}+{kid.hex()}")
    for s in known:
        try:
            public_key.verify(s.signature, text.encode("utf-8"))
        except InvalidSignature as e:
            raise NoteSignatureError(
                f"signature by key {key_name}+{kid.hex()} does not verify over the note text"
            ) from e
    return text


def checkpoint_text(
    origin: str, size: int, root: bytes, time: datetime | None = None,
    extensions: tuple[str, ...] = (),
) -> str:
    """Return the tlog-checkpoint note text (body), with an optional ``time`` line."""
    if not origin or "\n" in origin:
        raise NoteError("origin must be one non-empty line")
    if size < 0:
        raise NoteError("tree size must not be negative")
    if len(root) != HASH_SIZE:
        raise NoteError(f"root must be {HASH_SIZE} bytes")
    lines = [origin, str(size), base64.b64encode(root).decode("ascii")]
    if time is not None:
        lines.append(f"{TIME_EXTENSION} {format_time(time)}")
    for ext in extensions:
        if not ext or "\n" in ext:
            raise NoteError("extension lines must be single non-empty lines")
        lines.append(ext)
    text = "\n".join(lines) + "\n"
    _check_text(text)
    return text


def sign_checkpoint(
    origin: str,
    size: int,
    root: bytes,
    time: datetime | None,
    private_key: Ed25519PrivateKey,
    key_name: str,
) -> str:
    """Return a signed checkpoint note for (origin, size, root, time)."""
    return sign_note(checkpoint_text(origin, size, root, time), private_key, key_name)


def parse_checkpoint(note: str) -> Checkpoint:
    """Parse a signed checkpoint note (or bare checkpoint text) WITHOUT verifying it."""
    if "\n\n" in note:
        text, signatures = split_note(note)
    else:
        text, signatures = note, ()
    if not text.endswith("\n"):
        raise NoteError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteError("checkpoint needs origin, size and root on non-empty lines")
    origin, size_s, root_s, *extensions = lines
    if not _SIZE_RE.fullmatch(size_s):
        raise NoteError("tree size is not a decimal number without leading zeros")
    try:
        root = base64.b64decode(root_s, validate=True)
    except binascii.Error as e:
        raise NoteError("root hash is not base64") from e
    if len(root) != HASH_SIZE:
        raise NoteError(f"root hash must be {HASH_SIZE} bytes")
    when = None
    for ext in extensions:
        name, _, value = ext.partition(" ")
        if name == TIME_EXTENSION:
            if when is not None:
                raise NoteError("checkpoint has more than one time line")
            when = parse_time(value)
    return Checkpoint(
        origin=origin, size=int(size_s), root=root, time=when,
        extensions=tuple(extensions), signatures=signatures, text=text,
    )


def verify_note(note: str, public_key: Ed25519PublicKey, key_name: str) -> Checkpoint:
    """Verify a signed checkpoint's signature by (key_name, public_key), then parse it.

    Raises ``NoteSignatureError`` naming the key if no valid signature by it is present.
    """
    open_note(note, public_key, key_name)
    return parse_checkpoint(note)


def format_time(when: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with a ``Z`` (microseconds kept if set)."""
    if when.tzinfo is None:
        raise NoteError("checkpoint time must be timezone-aware")
    when = when.astimezone(UTC)
    spec = "microseconds" if when.microsecond else "seconds"
    return when.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def parse_time(value: str) -> datetime:
    """Parse the RFC 3339 UTC time written by ``format_time``."""
    if not value.endswith("Z"):
        raise NoteError("checkpoint time must be UTC ending in Z")
    try:
        when = datetime.fromisoformat(value[:-1])
    except ValueError as e:
        raise NoteError("checkpoint time is not RFC 3339") from e
    if when.tzinfo is not None:
        raise NoteError("checkpoint time must be UTC ending in Z")
    return when.replace(tzinfo=UTC)


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_key_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError("key name must be non-empty, without spaces or '+'")


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if _CONTROL_RE.search(text):
        raise NoteError("note text contains control characters")
