"""Per-upload capability keys: what lets a later request continue an upload, and nothing else.

An appendable blob's data key must be reachable by the next request that appends to it,
in any process, but writing evidence may need only the vault's public key (DESIGN.md §3),
and the database and instance folder together must not open an upload in flight. So the
secret half of an upload's resume state (data key, hash states) is sealed under a random
capability that only the client holds: it is part of the upload URL and is never stored.
"""

from __future__ import annotations

import hashlib
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.errors import SealedKeyError

CAPABILITY_BYTES = 16  # 128 bits: unguessable, and short enough for a URL
_LABEL = b"incidents/upload-capability/v1"
_NONCE_LEN = 12


def new_capability() -> str:
    """A fresh capability as 32 lowercase hex digits."""
    return secrets.token_hex(CAPABILITY_BYTES)


def _key(capability: str) -> AESGCM:
    return AESGCM(hashlib.sha256(_LABEL + capability.encode("ascii")).digest())


def seal(capability: str, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM under a key derived from the capability: nonce ‖ ciphertext ‖ tag."""
    nonce = secrets.token_bytes(_NONCE_LEN)
    return nonce + _key(capability).encrypt(nonce, plaintext, _LABEL + aad)


def unseal(capability: str, sealed: bytes, aad: bytes) -> bytes:
    """Open what ``seal`` made; SealedKeyError if the capability or the data is wrong."""
    try:
        return _key(capability).decrypt(sealed[:_NONCE_LEN], sealed[_NONCE_LEN:], _LABEL + aad)
    except (InvalidTag, ValueError) as e:
        raise SealedKeyError("the upload state does not open with this capability") from e
