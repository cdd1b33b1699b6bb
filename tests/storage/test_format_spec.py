"""docs/formats.md is enough to decrypt a blob: an independent decryptor written from it.

``storage`` is used only to *produce* key directories and blobs. Reading the key files,
unwrapping the vault key, opening the sealed data key and decrypting the chunks below use
nothing but the document and ``cryptography``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import struct
from pathlib import Path

import pytest
import shamir_mnemonic
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from storage.backends import LocalBackend
from storage.blobstore import BlobStore
from tests.keys import init_keys, ring_of, shares_of
from tests.storage.conftest import CHEAP_ARGON2

DOC = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text("utf-8")


# --- the decryptor, from docs/formats.md alone -----------------------------------------------


def wrapping_key(key_dir: Path, passphrase: str | None) -> bytes:
    """The unseal key: SLIP-39 shares combined (the trustees'), or Argon2id of the passphrase."""
    wrapping = json.loads((key_dir / "keyring.json").read_text())["unseal"]
    if wrapping["method"] == "slip39":
        return shamir_mnemonic.combine_mnemonics(shares_of(key_dir))
    return Argon2id(
        salt=base64.b64decode(wrapping["salt"]),
        length=32,
        iterations=wrapping["iterations"],
        lanes=wrapping["lanes"],
        memory_cost=wrapping["memory_cost"],
    ).derive(passphrase.encode("utf-8"))  # type: ignore[union-attr]


def unwrap(doc: dict, wkey: bytes, label: bytes) -> bytes:
    w = doc["wrapped_private_key"]
    aad = label + b"\x00" + doc["key_id"].encode("ascii")
    return AESGCM(wkey).decrypt(
        base64.b64decode(w["nonce"]), base64.b64decode(w["ciphertext"]), aad
    )


def vault_private_key(key_dir: Path, key_id: str, wkey: bytes) -> hpke.MLKEM768X25519PrivateKey:
    doc = json.loads((key_dir / f"vault-{key_id}.json").read_text())
    secret = unwrap(doc, wkey, b"incidents/vault-key/v1")
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(secret[:64])
    x_key = x25519.X25519PrivateKey.from_private_bytes(secret[64:])
    public = base64.b64decode(doc["public_key"])
    assert len(public) == 1216
    assert public == (
        mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()
    )
    return hpke.MLKEM768X25519PrivateKey(mlkem_key, x_key)


def open_sealed_key(
    private: hpke.MLKEM768X25519PrivateKey, key_id: str, blob_id: str, sealed: bytes
) -> bytes:
    suite = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    k, b = key_id.encode("ascii"), blob_id.encode("ascii")
    info = b"incidents/blob-data-key/v1" + bytes([len(k)]) + k + bytes([len(b)]) + b
    assert len(sealed) == 1168
    return suite.decrypt(sealed, private, info=info)


def decrypt_blob(data: bytes, data_key: bytes, blob_id: str) -> bytes:
    header = data[:19]
    magic, version, suite, chunk_size, prefix = struct.unpack(">6sBBI7s", header)
    assert (magic, version, suite) == (b"EVBLOB", 1, 1)
    aad = header + blob_id.encode("ascii")
    rest = data[19:]
    records = [rest[i : i + chunk_size + 16] for i in range(0, len(rest), chunk_size + 16)]
    assert records, "an empty rest is an error"
    aead = AESGCM(data_key)
    out = []
    for i, record in enumerate(records):
        final = i == len(records) - 1
        if final and i > 0:
            assert len(record) > 16
        nonce = prefix + i.to_bytes(4, "big") + (b"\x01" if final else b"\x00")
        out.append(aead.decrypt(nonce, record, aad))
    return b"".join(out)


def decrypt_from_disk(
    key_dir: Path,
    blob_root: Path,
    blob_id: str,
    key_id: str,
    sealed: bytes,
    passphrase: str | None = None,
) -> bytes:
    wkey = wrapping_key(key_dir, passphrase)
    private = vault_private_key(key_dir, key_id, wkey)
    data_key = open_sealed_key(private, key_id, blob_id, sealed)
    return decrypt_blob((blob_root / blob_id[:2] / blob_id).read_bytes(), data_key, blob_id)


# --- the tests -------------------------------------------------------------------------------


def test_the_document_states_the_constants_this_decryptor_uses() -> None:
    for text in [
        '"EVBLOB"',
        "0x647A",
        "HKDF-SHA256",
        "AES-256-GCM",
        "incidents/blob-data-key/v1",
        "incidents/vault-key/v1",
        "incidents/signing-key/v1",
        "nonce_prefix (7) ‖ i (u32, 4)",
        "header (the 19 bytes above) ‖ blob id",
        "`<root>/<id[0:2]>/<id>`",
        "1168 bytes",
    ]:
        assert text in DOC, text


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 1000])
def test_a_blob_decrypts_from_the_document_alone(tmp_path: Path, size: int) -> None:
    init_keys(tmp_path / "keys")
    store = BlobStore(
        LocalBackend(tmp_path / "blobs"), ring_of(tmp_path / "keys"), chunk_size=100
    )
    plaintext = os.urandom(size)
    blob = store.put(io.BytesIO(plaintext))
    path = tmp_path / "blobs" / blob.blob_id[:2] / blob.blob_id
    chunks = max(1, -(-size // 100))
    assert path.stat().st_size == 19 + size + 16 * chunks
    assert hashlib.sha256(path.read_bytes()).hexdigest() == blob.ciphertext_sha256
    got = decrypt_from_disk(
        tmp_path / "keys", tmp_path / "blobs", blob.blob_id, blob.key_id, blob.sealed_key
    )
    assert got == plaintext
    assert hashlib.sha256(got).hexdigest() == blob.sha256


def test_a_passphrase_protected_directory_opens_from_the_document(tmp_path: Path) -> None:
    init_keys(tmp_path / "keys", passphrase="pässphrase", argon2=CHEAP_ARGON2)
    ring = ring_of(tmp_path / "keys", passphrase="pässphrase")
    store = BlobStore(LocalBackend(tmp_path / "blobs"), ring)
    blob = store.put(io.BytesIO(b"testimony"))
    got = decrypt_from_disk(
        tmp_path / "keys",
        tmp_path / "blobs",
        blob.blob_id,
        blob.key_id,
        blob.sealed_key,
        passphrase="pässphrase",
    )
    assert got == b"testimony"


def test_the_signing_key_reads_from_the_document(tmp_path: Path) -> None:
    init_keys(tmp_path / "keys")
    manifest = json.loads((tmp_path / "keys" / "keyring.json").read_text())
    doc = json.loads((tmp_path / "keys" / f"signing-{manifest['signing_key']}.json").read_text())
    assert doc["format"] == "incidents-signing-key/v2"
    secret = base64.b64decode(doc["private_key"])
    key = Ed25519PrivateKey.from_private_bytes(secret)
    assert key.public_key().public_bytes_raw() == base64.b64decode(doc["public_key"])
    ring = ring_of(tmp_path / "keys")
    assert ring.signing_key().private_bytes_raw() == secret


def test_the_document_decryptor_also_rejects_a_blob_under_another_id(tmp_path: Path) -> None:
    init_keys(tmp_path / "keys")
    store = BlobStore(LocalBackend(tmp_path / "blobs"), ring_of(tmp_path / "keys"))
    a = store.put(io.BytesIO(b"a" * 10))
    b = store.put(io.BytesIO(b"b" * 10))
    wkey = wrapping_key(tmp_path / "keys", None)
    private = vault_private_key(tmp_path / "keys", a.key_id, wkey)
    key_a = open_sealed_key(private, a.key_id, a.blob_id, a.sealed_key)
    data_b = (tmp_path / "blobs" / b.blob_id[:2] / b.blob_id).read_bytes()
    with pytest.raises(InvalidTag):
        decrypt_blob(data_b, key_a, a.blob_id)
    with pytest.raises(InvalidTag):
        open_sealed_key(private, a.key_id, b.blob_id, a.sealed_key)


def test_a_sealed_key_opens_by_hand_from_the_documented_xwing_revision_and_enc_order() -> None:
    """docs/formats.md "Sealed data key": enc = ML-KEM-768 ciphertext (1088) ‖ X25519
    ephemeral key (32), shared secret per draft-connolly-cfrg-xwing-kem-06, then the RFC
    9180 base-mode key schedule; everything below is written from the document."""
    m_key, x_key = mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate()
    private = hpke.MLKEM768X25519PrivateKey(m_key, x_key)
    suite = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    info = b"incidents/blob-data-key/v1\x04abcd\x02xy"
    sealed = suite.encrypt(b"d" * 32, private.public_key(), info=info)
    enc, box = sealed[:1120], sealed[1120:]
    ct_m, ct_x = enc[:1088], enc[1088:]
    ss_m = m_key.decapsulate(ct_m)
    ss_x = x_key.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
    pk_x = x_key.public_key().public_bytes_raw()
    shared = hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + b"\\.//^\\").digest()
    suite_id = b"HPKE" + struct.pack(">HHH", 0x647A, 0x0001, 0x0002)

    def extract(salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return hmac.new(salt or bytes(32), b"HPKE-v1" + suite_id + label + ikm,
                        hashlib.sha256).digest()

    def expand(prk: bytes, label: bytes, context: bytes, length: int) -> bytes:
        data = struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + context
        out, block, counter = b"", b"", 1
        while len(out) < length:
            block = hmac.new(prk, block + data + bytes([counter]), hashlib.sha256).digest()
            out, counter = out + block, counter + 1
        return out[:length]

    context = b"\x00" + extract(b"", b"psk_id_hash", b"") + extract(b"", b"info_hash", info)
    secret = extract(shared, b"secret", b"")
    key, nonce = expand(secret, b"key", context, 32), expand(secret, b"base_nonce", context, 12)
    assert AESGCM(key).decrypt(nonce, box, b"") == b"d" * 32
