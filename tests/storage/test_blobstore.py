"""BlobStore against both backends: round trips, hashes, tampering, limits, aborted writes."""

from __future__ import annotations

import gc
import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.backends import BlobBackend, LocalBackend
from storage.blob_writer import StoredBlob
from storage.blobstore import BlobRef, BlobStore
from storage.crypto.keys import VaultKeyRing
from storage.crypto.stream import HEADER_LEN, TAG_LEN
from storage.errors import (
    BlobIntegrityError,
    BlobNotFound,
    BlobTooLarge,
    BlobWriterClosed,
    InvalidBlobName,
    KeyUnavailable,
    SealedKeyError,
)
from tests.keys import init_keys, ring_of
from tests.storage.conftest import CHUNK, make_s3_backend, raw, replace_raw

RECORD = CHUNK + TAG_LEN
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 1]


def _data(n: int) -> bytes:
    return os.urandom(n)


def _read_all(store: BlobStore, blob: StoredBlob | BlobRef) -> bytes:
    with store.open(blob) as reader:
        return reader.read()


def _records(data: bytes) -> list[bytes]:
    body = data[HEADER_LEN:]
    return [body[i : i + RECORD] for i in range(0, len(body), RECORD)]


def _rebuild(data: bytes, records: list[bytes]) -> bytes:
    return data[:HEADER_LEN] + b"".join(records)


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_returns_the_same_bytes(store: BlobStore, size: int) -> None:
    data = _data(size)
    blob = store.put(io.BytesIO(data))
    assert blob.size == size
    assert _read_all(store, blob) == data
    store.verify(blob)
    store.verify_ciphertext(blob)


@pytest.mark.parametrize("size", SIZES)
def test_sha256_is_hashlibs_and_ciphertext_sha256_is_of_the_stored_bytes(
    store: BlobStore, size: int
) -> None:
    data = _data(size)
    blob = store.put(io.BytesIO(data))
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.ciphertext_sha256 == hashlib.sha256(raw(store.backend, blob.blob_id)).hexdigest()


def test_stored_size_is_header_plus_one_tag_per_chunk(store: BlobStore) -> None:
    for size, chunks in [(0, 1), (1, 1), (CHUNK, 1), (CHUNK + 1, 2), (3 * CHUNK, 3)]:
        blob = store.put(io.BytesIO(_data(size)))
        assert len(raw(store.backend, blob.blob_id)) == HEADER_LEN + size + chunks * TAG_LEN


def test_iterable_push_writer_and_file_input_produce_equal_plaintext(store: BlobStore) -> None:
    data = _data(5 * CHUNK + 7)
    pieces = [data[i : i + 13] for i in range(0, len(data), 13)]
    from_iter = store.put(pieces)
    with store.writer() as w:
        for piece in pieces:
            w.write(piece)
        from_writer = w.commit()
    from_bytes = store.put(data)  # type: ignore[arg-type]
    for blob in (from_iter, from_writer, from_bytes):
        assert blob.sha256 == hashlib.sha256(data).hexdigest()
        assert _read_all(store, blob) == data
    assert len({from_iter.blob_id, from_writer.blob_id, from_bytes.blob_id}) == 3


def test_reader_supports_small_reads_readinto_and_chunk_iteration(store: BlobStore) -> None:
    data = _data(4 * CHUNK + 9)
    blob = store.put(io.BytesIO(data))
    with store.open(blob) as r:
        assert r.read(5) + r.read(100) + r.read() == data
        assert r.read() == b""
    with store.open(blob) as r:
        buf = bytearray(7)
        got = bytearray()
        while n := r.readinto(buf):
            got += buf[:n]
        assert got == data
    with store.open(blob) as r:
        chunks = list(r)
    assert b"".join(chunks) == data
    assert all(len(c) == CHUNK for c in chunks[:-1])


def test_same_content_twice_gives_unrelated_blobs(store: BlobStore) -> None:
    data = _data(2 * CHUNK)
    a, b = store.put(io.BytesIO(data)), store.put(io.BytesIO(data))
    assert a.blob_id != b.blob_id
    assert a.sha256 == b.sha256
    assert a.ciphertext_sha256 != b.ciphertext_sha256
    assert hashlib.sha256(data).hexdigest() not in (a.blob_id, b.blob_id)


def test_large_chunks_go_through_the_hashing_threads(
    backend: BlobBackend, ring: VaultKeyRing
) -> None:
    store = BlobStore(backend, ring, chunk_size=256 * 1024)
    data = _data(3 * 256 * 1024 + 12345)
    blob = store.put(io.BytesIO(data))
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert _read_all(store, blob) == data
    store.verify(blob)


def test_s3_multipart_upload_of_several_parts_round_trips(
    s3_endpoint: str, ring: VaultKeyRing
) -> None:
    backend = make_s3_backend(s3_endpoint)
    store = BlobStore(backend, ring, chunk_size=1024 * 1024)
    data = _data(11 * 1024 * 1024 + 3)
    blob = store.put(io.BytesIO(data))
    assert _read_all(store, blob) == data
    store.verify(blob)


# --- tampering -------------------------------------------------------------------------------


def _tamper(store: BlobStore, blob: StoredBlob, data: bytes) -> None:
    replace_raw(store.backend, blob.blob_id, data)


def _assert_rejected(store: BlobStore, blob: StoredBlob) -> None:
    with pytest.raises(BlobIntegrityError) as read_error:
        _read_all(store, blob)
    assert read_error.value.blob_id == blob.blob_id
    assert blob.blob_id in str(read_error.value)
    with pytest.raises(BlobIntegrityError) as verify_error:
        store.verify(blob)
    assert verify_error.value.blob_id == blob.blob_id


@pytest.fixture
def three_chunks(store: BlobStore) -> tuple[StoredBlob, bytes]:
    blob = store.put(io.BytesIO(_data(3 * CHUNK - 5)))
    return blob, raw(store.backend, blob.blob_id)


@pytest.mark.parametrize("offset", [0, 7, HEADER_LEN, HEADER_LEN + 3, HEADER_LEN + RECORD + 70, -1])
def test_one_flipped_byte_is_detected(
    store: BlobStore, three_chunks: tuple[StoredBlob, bytes], offset: int
) -> None:
    blob, data = three_chunks
    tampered = bytearray(data)
    tampered[offset] ^= 0x01
    _tamper(store, blob, bytes(tampered))
    _assert_rejected(store, blob)
    with pytest.raises(BlobIntegrityError, match=blob.blob_id):
        store.verify_ciphertext(blob)


@pytest.mark.parametrize("cut", [1, TAG_LEN, RECORD - 5, 2 * RECORD - 5])
def test_a_truncated_blob_is_detected(
    store: BlobStore, three_chunks: tuple[StoredBlob, bytes], cut: int
) -> None:
    blob, data = three_chunks
    _tamper(store, blob, data[:-cut])
    _assert_rejected(store, blob)


def test_truncation_exactly_at_a_chunk_boundary_is_detected(store: BlobStore) -> None:
    blob = store.put(io.BytesIO(_data(3 * CHUNK)))
    data = raw(store.backend, blob.blob_id)
    _tamper(store, blob, _rebuild(data, _records(data)[:2]))
    _assert_rejected(store, blob)


def test_a_blob_cut_to_its_header_is_detected(
    store: BlobStore, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    blob, data = three_chunks
    _tamper(store, blob, data[:HEADER_LEN])
    _assert_rejected(store, blob)


@pytest.mark.parametrize("extra", [b"\x00", b"x" * TAG_LEN, b"y" * RECORD])
def test_appended_bytes_are_detected(
    store: BlobStore, three_chunks: tuple[StoredBlob, bytes], extra: bytes
) -> None:
    blob, data = three_chunks
    _tamper(store, blob, data + extra)
    _assert_rejected(store, blob)


def test_an_appended_copy_of_the_last_chunk_is_detected(
    store: BlobStore, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    blob, data = three_chunks
    records = _records(data)
    _tamper(store, blob, _rebuild(data, [*records, records[-1]]))
    _assert_rejected(store, blob)


def test_a_dropped_chunk_is_detected(
    store: BlobStore, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    blob, data = three_chunks
    records = _records(data)
    _tamper(store, blob, _rebuild(data, [records[0], records[2]]))
    _assert_rejected(store, blob)


def test_a_duplicated_chunk_is_detected(
    store: BlobStore, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    blob, data = three_chunks
    records = _records(data)
    _tamper(store, blob, _rebuild(data, [records[0], records[0], records[1], records[2]]))
    _assert_rejected(store, blob)


def test_reordered_chunks_are_detected(
    store: BlobStore, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    blob, data = three_chunks
    records = _records(data)
    _tamper(store, blob, _rebuild(data, [records[1], records[0], records[2]]))
    _assert_rejected(store, blob)


def test_the_final_chunk_moved_first_is_detected(store: BlobStore) -> None:
    blob = store.put(io.BytesIO(_data(2 * CHUNK)))
    data = raw(store.backend, blob.blob_id)
    records = _records(data)
    _tamper(store, blob, _rebuild(data, [records[1], records[0]]))
    _assert_rejected(store, blob)


def test_two_blob_files_swapped_are_detected(store: BlobStore) -> None:
    a = store.put(io.BytesIO(_data(2 * CHUNK)))
    b = store.put(io.BytesIO(_data(2 * CHUNK)))
    raw_a, raw_b = raw(store.backend, a.blob_id), raw(store.backend, b.blob_id)
    _tamper(store, a, raw_b)
    _tamper(store, b, raw_a)
    _assert_rejected(store, a)
    _assert_rejected(store, b)


def test_sealed_keys_swapped_between_blobs_are_refused(store: BlobStore) -> None:
    a = store.put(io.BytesIO(_data(10)))
    b = store.put(io.BytesIO(_data(10)))
    with pytest.raises(SealedKeyError, match=a.blob_id):
        store.open(BlobRef(a.blob_id, b.key_id, b.sealed_key))


def test_a_sealed_key_does_not_open_with_another_vault_key(
    store: BlobStore, tmp_path: Path
) -> None:
    blob = store.put(io.BytesIO(_data(10)))
    init_keys(tmp_path / "other-keys")
    other = ring_of(tmp_path / "other-keys")
    with pytest.raises(SealedKeyError, match=blob.blob_id):
        other.unseal_data_key(other.active_key_id(), blob.sealed_key, blob.blob_id)
    with pytest.raises(KeyUnavailable, match=blob.blob_id):
        BlobStore(store.backend, other).open(blob)


def test_a_corrupted_sealed_key_is_refused(store: BlobStore) -> None:
    blob = store.put(io.BytesIO(_data(10)))
    sealed = bytearray(blob.sealed_key)
    sealed[-1] ^= 1
    with pytest.raises(SealedKeyError, match=blob.blob_id):
        store.open(BlobRef(blob.blob_id, blob.key_id, bytes(sealed)))


def test_verify_names_a_record_that_does_not_match_the_blob(store: BlobStore) -> None:
    blob = store.put(io.BytesIO(_data(100)))
    wrong_sha = StoredBlob(**{**blob.__dict__, "sha256": "0" * 64})
    with pytest.raises(BlobIntegrityError, match="plaintext SHA-256"):
        store.verify(wrong_sha)
    wrong_size = StoredBlob(**{**blob.__dict__, "size": 99})
    with pytest.raises(BlobIntegrityError, match="size"):
        store.verify(wrong_size)
    with pytest.raises(BlobIntegrityError, match="size"):
        _read_all(store, wrong_size)
    wrong_ct = StoredBlob(**{**blob.__dict__, "ciphertext_sha256": "0" * 64})
    with pytest.raises(BlobIntegrityError, match="ciphertext"):
        store.verify_ciphertext(wrong_ct)


def test_a_missing_blob_raises_blob_not_found(store: BlobStore) -> None:
    blob = store.put(io.BytesIO(b"x"))
    store.delete(blob.blob_id)
    with pytest.raises(BlobNotFound):
        store.open(blob)
    with pytest.raises(BlobNotFound):
        store.verify_ciphertext(blob)


# --- limits and aborted writes ---------------------------------------------------------------


def _nothing_left(backend: BlobBackend) -> None:
    assert list(backend.names()) == []
    assert backend.sweep_temporary() == []
    if isinstance(backend, LocalBackend):
        assert [p for p in backend.root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("limit", [0, 1, CHUNK, 3 * CHUNK])
def test_crossing_max_size_raises_and_leaves_nothing(store: BlobStore, limit: int) -> None:
    with pytest.raises(BlobTooLarge):
        store.put(io.BytesIO(_data(limit + 1)), max_size=limit)
    with pytest.raises(BlobTooLarge):
        store.put([_data(limit), b"!"], max_size=limit)
    _nothing_left(store.backend)


def test_exactly_max_size_is_accepted(store: BlobStore) -> None:
    data = _data(3 * CHUNK)
    assert _read_all(store, store.put(io.BytesIO(data), max_size=len(data))) == data


def test_max_size_stops_reading_an_endless_stream_early(store: BlobStore) -> None:
    consumed = 0

    def endless() -> Iterator[bytes]:
        nonlocal consumed
        while True:
            consumed += CHUNK
            yield b"z" * CHUNK

    with pytest.raises(BlobTooLarge):
        store.put(endless(), max_size=10 * CHUNK)
    assert consumed <= 11 * CHUNK
    _nothing_left(store.backend)


def test_push_writer_raises_blob_too_large_and_is_then_closed(store: BlobStore) -> None:
    w = store.writer(max_size=10)
    w.write(b"0123456789")
    with pytest.raises(BlobTooLarge):
        w.write(b"a")
    with pytest.raises(BlobWriterClosed):
        w.write(b"b")
    with pytest.raises(BlobWriterClosed):
        w.commit()
    _nothing_left(store.backend)


def test_an_exception_mid_write_leaves_nothing(store: BlobStore) -> None:
    def failing() -> Iterator[bytes]:
        yield _data(5 * CHUNK)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        store.put(failing())
    _nothing_left(store.backend)


def test_a_writer_left_without_commit_leaves_nothing(store: BlobStore) -> None:
    with store.writer() as w:
        w.write(_data(3 * CHUNK))
    with pytest.raises(BlobWriterClosed):
        w.commit()
    _nothing_left(store.backend)


def test_a_writer_dropped_without_commit_or_abort_cleans_up_when_collected(
    store: BlobStore,
) -> None:
    w = store.writer()
    w.write(_data(3 * CHUNK))
    del w
    gc.collect()
    _nothing_left(store.backend)


def test_abort_discards_and_commit_after_abort_fails(store: BlobStore) -> None:
    w = store.writer()
    w.write(b"partial")
    w.abort()
    w.abort()
    with pytest.raises(BlobWriterClosed):
        w.commit()
    _nothing_left(store.backend)


def test_s3_aborts_its_multipart_upload_when_a_write_fails(
    s3_endpoint: str, ring: VaultKeyRing
) -> None:
    backend = make_s3_backend(s3_endpoint)
    store = BlobStore(backend, ring, chunk_size=1024 * 1024)

    def failing() -> Iterator[bytes]:
        for _ in range(7):
            yield _data(1024 * 1024)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        store.put(failing())
    _nothing_left(backend)


def test_a_caller_chosen_blob_id_must_be_well_formed_and_new(store: BlobStore) -> None:
    with pytest.raises(InvalidBlobName):
        store.put(io.BytesIO(b"x"), blob_id="../../etc/passwd")
    blob = store.put(io.BytesIO(b"x"), blob_id="ab" * 16)
    assert blob.blob_id == "ab" * 16
    with pytest.raises(Exception, match="already exists"):
        store.put(io.BytesIO(b"y"), blob_id="ab" * 16)
    assert _read_all(store, blob) == b"x"


# --- secrecy at rest -------------------------------------------------------------------------


def test_the_blob_folder_reveals_neither_plaintext_nor_data_keys(
    store: BlobStore, ring: VaultKeyRing
) -> None:
    plaintext = b"Witness statement: detained at the akimat on 6 January. " * 20
    blobs = [store.put(io.BytesIO(plaintext)) for _ in range(3)]
    stored = b"".join(raw(store.backend, name) for name in store.backend.names())
    assert len(stored) > 3 * len(plaintext)
    for i in range(0, len(plaintext) - 16, 16):
        assert plaintext[i : i + 16] not in stored
    for blob in blobs:
        data_key = ring.unseal_data_key(blob.key_id, blob.sealed_key, blob.blob_id)
        assert data_key not in stored
        assert data_key not in blob.sealed_key
        assert blob.sha256.encode() not in stored
        assert bytes.fromhex(blob.sha256) not in stored
