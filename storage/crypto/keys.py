"""Vault keys in memory, and the one narrow interface through which evidence is read.

Each blob's data key is sealed with HPKE (RFC 9180) to the public half of the active vault
key, a hybrid ML-KEM-768 + X25519 key, with the key id and blob id bound in as HPKE ``info``.
Sealing needs only public keys (``PublicKeyRing``, all a web or worker process holds);
unsealing goes through ``KeyProvider``, which on the web side asks the key agent
(``storage.agent``), the one process holding ``VaultKeyRing``. The key files the rings are
loaded from are in ``storage.crypto.key_directory``.
"""

from __future__ import annotations

from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage.errors import KeyUnavailable, SealedKeyError, VaultSealed

# What checkpoint signing takes; named here so code outside storage/crypto can type it.
SigningKey = Ed25519PrivateKey

HPKE_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
HPKE_INFO_LABEL = b"incidents/blob-data-key/v1"


class KeyProvider(Protocol):
    """The one narrow interface through which anything reads evidence."""

    def active_key_id(self) -> str: ...

    def seal_data_key(self, data_key: bytes, blob_id: str) -> tuple[str, bytes]: ...

    def unseal_data_key(self, key_id: str, sealed: bytes, blob_id: str) -> bytes: ...


def hpke_info(key_id: str, blob_id: str) -> bytes:
    """HPKE ``info``: label ‖ len(key_id) ‖ key_id ‖ len(blob_id) ‖ blob_id (ASCII, u8 lengths)."""
    k, b = key_id.encode("ascii"), blob_id.encode("ascii")
    return HPKE_INFO_LABEL + bytes([len(k)]) + k + bytes([len(b)]) + b


class PublicKeyRing:
    """The vault public keys and the signing key: enough to take evidence in while sealed."""

    def __init__(self, *, active: str, public_keys: dict[str, hpke.MLKEM768X25519PublicKey],
                 signing_key: Ed25519PrivateKey) -> None:
        if active not in public_keys:
            raise KeyUnavailable(f"active vault key {active} is not in the ring")
        self._active = active
        self.public_keys = public_keys
        self._signing = signing_key

    def __repr__(self) -> str:
        return f"<PublicKeyRing active={self._active} keys={sorted(self.public_keys)}>"

    def active_key_id(self) -> str:
        return self._active

    def seal_data_key(self, data_key: bytes, blob_id: str) -> tuple[str, bytes]:
        """Seal ``data_key`` for ``blob_id`` to the active public key; return (key_id, sealed)."""
        key_id = self._active
        sealed = HPKE_SUITE.encrypt(data_key, self.public_keys[key_id],
                                    info=hpke_info(key_id, blob_id))
        return key_id, sealed

    def unseal_data_key(self, key_id: str, sealed: bytes, blob_id: str) -> bytes:
        raise VaultSealed(f"blob {blob_id}: no private key in this process")

    def signing_key(self) -> Ed25519PrivateKey:
        return self._signing

    def signing_public_key_pem(self) -> bytes:
        return self._signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class VaultKeyRing:
    """The vault private keys and the custody signing key, unwrapped in memory."""

    def __init__(
        self,
        *,
        active: str,
        private_keys: dict[str, hpke.MLKEM768X25519PrivateKey],
        public_keys: dict[str, hpke.MLKEM768X25519PublicKey],
        signing_key: Ed25519PrivateKey,
    ) -> None:
        if active not in public_keys:
            raise KeyUnavailable(f"active vault key {active} is not in the ring")
        self._active = active
        self._private = private_keys
        self._public = public_keys
        self._signing = signing_key

    def __repr__(self) -> str:
        return f"<VaultKeyRing active={self._active} keys={sorted(self._private)}>"

    def active_key_id(self) -> str:
        return self._active

    def key_ids(self) -> list[str]:
        """Ids of the vault keys whose private halves this ring holds."""
        return sorted(self._private)

    def seal_data_key(self, data_key: bytes, blob_id: str) -> tuple[str, bytes]:
        """Seal ``data_key`` for ``blob_id`` to the active public key; return (key_id, sealed)."""
        key_id = self._active
        sealed = HPKE_SUITE.encrypt(data_key, self._public[key_id], info=hpke_info(key_id, blob_id))
        return key_id, sealed

    def unseal_data_key(self, key_id: str, sealed: bytes, blob_id: str) -> bytes:
        """Open a sealed data key; raise KeyUnavailable or SealedKeyError naming the blob."""
        private = self._private.get(key_id)
        if private is None:
            raise KeyUnavailable(f"blob {blob_id}: vault key {key_id} is not available")
        try:
            return HPKE_SUITE.decrypt(sealed, private, info=hpke_info(key_id, blob_id))
        except (InvalidTag, ValueError) as e:
            raise SealedKeyError(
                f"blob {blob_id}: sealed data key does not open with vault key {key_id} "
                "(wrong key, or a sealed key belonging to another blob)"
            ) from e

    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs custody checkpoints."""
        return self._signing

    def signing_public_key_pem(self) -> bytes:
        """The checkpoint signing public key as SubjectPublicKeyInfo PEM."""
        return self._signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def reseal(ring: KeyProvider, key_id: str, sealed: bytes, blob_id: str) -> tuple[str, bytes]:
    """Re-seal a blob's data key to the active vault key (rotation without rewriting blobs)."""
    data_key = ring.unseal_data_key(key_id, sealed, blob_id)
    return ring.seal_data_key(data_key, blob_id)
