"""Appendable blobs: written across many 'requests' (fresh writers), read back as one blob."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from storage.appendable import AppendableBlobWriter, Checkpoint
from storage.backends import BlobBackend, LocalBackend
from storage.blobstore import BlobRef, BlobStore
from storage.crypto.capability import new_capability
from storage.crypto.sha256state import ResumableSha256
from storage.crypto.stream import HEADER_LEN
from storage.errors import BlobBusy, BlobIntegrityError, BlobTooLarge, SealedKeyError
from tests.storage.conftest import CHUNK, raw, replace_raw


class Saved:
    """What the upload row keeps between requests."""

    def __init__(self) -> None:
        self.checkpoints: list[Checkpoint] = []

    def store(self, cp: Checkpoint) -> None:
        self.checkpoints.append(cp)

    @property
    def last(self) -> Checkpoint:
        return self.checkpoints[-1]


def _new(store: BlobStore, length: int, cap: str) -> tuple[str, str, bytes, Saved]:
    writer, key_id, sealed, first = AppendableBlobWriter.create(
        store.backend, store.keys, length=length, chunk_size=CHUNK, capability=cap)
    saved = Saved()
    saved.store(first)
    blob_id = writer.blob_id
    writer.close()
    return blob_id, key_id, sealed, saved


def _resume(store: BlobStore, blob_id: str, length: int, cap: str,
            cp: Checkpoint) -> AppendableBlobWriter:
    return AppendableBlobWriter.resume(
        store.backend, blob_id=blob_id, length=length, capability=cap,
        sealed_state=cp.sealed_state, backend_state=cp.backend_state)


@pytest.mark.parametrize("length", [0, 1, CHUNK, 3 * CHUNK, 3 * CHUNK + 5])
@pytest.mark.parametrize("pieces", [1, 2, 7])
def test_a_blob_appended_over_many_requests_reads_back_with_sha256sum_identity(
        store: BlobStore, length: int, pieces: int) -> None:
    data = os.urandom(length)
    cap = new_capability()
    blob_id, key_id, sealed, saved = _new(store, length, cap)
    cuts = sorted({0, length, *(length * i // pieces for i in range(1, pieces))})
    for start, end in zip(cuts, cuts[1:], strict=False):
        writer = _resume(store, blob_id, length, cap, saved.last)
        assert writer.size == start
        writer.write_from(io.BytesIO(data[start:end]), saved.store, checkpoint_bytes=CHUNK)
        writer.close()
    writer = _resume(store, blob_id, length, cap, saved.last)
    blob = writer.finish(key_id=key_id, sealed_key=sealed)
    assert blob.size == length
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.ciphertext_sha256 == hashlib.sha256(raw(store.backend, blob_id)).hexdigest()
    with store.open(blob) as reader:
        assert reader.read() == data
    store.verify(blob)


def test_bytes_written_after_the_last_checkpoint_are_dropped_and_rewritten(
        store: BlobStore) -> None:
    """A crash between checkpoints: the next request resumes exactly at the stored one."""
    data = os.urandom(10 * CHUNK)
    cap = new_capability()
    blob_id, key_id, sealed, saved = _new(store, len(data), cap)
    writer = _resume(store, blob_id, len(data), cap, saved.last)
    writer.write_from(io.BytesIO(data[: 4 * CHUNK]), saved.store, checkpoint_bytes=CHUNK)
    writer.close()
    kept = saved.last
    # The "crashed" request got further and wrote records, but died before its checkpoint.
    writer = _resume(store, blob_id, len(data), cap, kept)
    with pytest.raises(ConnectionError):
        writer.write_from(_Dying(os.urandom(3 * CHUNK)), saved.store, checkpoint_bytes=len(data))
    writer.close()
    writer = _resume(store, blob_id, len(data), cap, kept)
    assert writer.size == 4 * CHUNK
    writer.write_from(io.BytesIO(data[4 * CHUNK:]), saved.store)
    blob = writer.finish(key_id=key_id, sealed_key=sealed)
    with store.open(blob) as reader:
        assert reader.read() == data


class _Dying(io.BytesIO):
    """A body that ends in a crash instead of an end of file."""

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = super().readinto(buffer)
        if not n:
            raise ConnectionError("process killed")
        return n


def test_checkpoints_come_at_least_every_checkpoint_bytes_within_one_request(
        store: BlobStore) -> None:
    data = os.urandom(20 * CHUNK + 3)
    cap = new_capability()
    blob_id, _, _, saved = _new(store, len(data) + 100, cap)
    writer = _resume(store, blob_id, len(data) + 100, cap, saved.last)
    writer.write_from(io.BytesIO(data), saved.store, checkpoint_bytes=4 * CHUNK)
    sizes = [cp.size for cp in saved.checkpoints]
    assert sizes[-1] == len(data)
    assert all(b - a <= 4 * CHUNK for a, b in zip(sizes, sizes[1:], strict=False))


def test_a_wrong_capability_opens_nothing(store: BlobStore) -> None:
    blob_id, _, _, saved = _new(store, 10, new_capability())
    with pytest.raises(SealedKeyError):
        _resume(store, blob_id, 10, new_capability(), saved.last)


def test_more_bytes_than_declared_are_refused(store: BlobStore) -> None:
    cap = new_capability()
    blob_id, _, _, saved = _new(store, 10, cap)
    writer = _resume(store, blob_id, 10, cap, saved.last)
    with pytest.raises(BlobTooLarge):
        writer.write_from(io.BytesIO(b"x" * 11), saved.store)
    writer.close()
    assert saved.last.size == 0


def test_the_unfinished_blob_is_invisible_until_it_finishes(store: BlobStore) -> None:
    cap = new_capability()
    blob_id, key_id, sealed, saved = _new(store, 3 * CHUNK, cap)
    writer = _resume(store, blob_id, 3 * CHUNK, cap, saved.last)
    writer.write_from(io.BytesIO(b"a" * 2 * CHUNK), saved.store)
    writer.close()
    assert not store.exists(blob_id)
    assert blob_id not in set(store.backend.names())
    writer = _resume(store, blob_id, 3 * CHUNK, cap, saved.last)
    writer.write_from(io.BytesIO(b"b" * CHUNK), saved.store)
    writer.finish(key_id=key_id, sealed_key=sealed)
    assert store.exists(blob_id)


@pytest.mark.parametrize("flip", [HEADER_LEN, HEADER_LEN + 3, HEADER_LEN + 12, -1])
def test_tampering_with_an_appendable_blob_is_detected(store: BlobStore, flip: int) -> None:
    cap = new_capability()
    data = os.urandom(2 * CHUNK + 9)
    blob_id, key_id, sealed, saved = _new(store, len(data), cap)
    writer = _resume(store, blob_id, len(data), cap, saved.last)
    writer.write_from(io.BytesIO(data), saved.store, checkpoint_bytes=CHUNK)
    blob = writer.finish(key_id=key_id, sealed_key=sealed)
    stored = bytearray(raw(store.backend, blob_id))
    stored[flip] ^= 1
    replace_raw(store.backend, blob_id, bytes(stored))
    with pytest.raises(BlobIntegrityError), store.open(blob) as reader:
        reader.read()


def test_a_truncated_appendable_blob_is_detected(store: BlobStore) -> None:
    cap = new_capability()
    data = os.urandom(3 * CHUNK)
    blob_id, key_id, sealed, saved = _new(store, len(data), cap)
    for piece in (data[:CHUNK + 3], data[CHUNK + 3:]):  # a short record in the middle
        writer = _resume(store, blob_id, len(data), cap, saved.last)
        writer.write_from(io.BytesIO(piece), saved.store)
        writer.close()
    blob = _resume(store, blob_id, len(data), cap, saved.last).finish(
        key_id=key_id, sealed_key=sealed)
    stored = raw(store.backend, blob_id)
    records = _record_ends(stored)
    replace_raw(store.backend, blob_id, stored[: records[-2]])  # the final record dropped
    with pytest.raises(BlobIntegrityError), store.open(BlobRef(blob_id, key_id, sealed)) as r:
        r.read()
    assert blob.size == len(data)


def _record_ends(stored: bytes) -> list[int]:
    pos, ends = HEADER_LEN, []
    while pos < len(stored):
        n = int.from_bytes(stored[pos + 7: pos + 11], "big")
        pos += 11 + n + 16
        ends.append(pos)
    return ends


def test_two_live_writers_never_append_to_one_local_blob(tmp_path, ring) -> None:  # noqa: ANN001
    store = BlobStore(LocalBackend(tmp_path / "blobs"), ring, chunk_size=CHUNK)
    cap = new_capability()
    blob_id, _, _, saved = _new(store, 10, cap)
    first = _resume(store, blob_id, 10, cap, saved.last)
    with pytest.raises(BlobBusy):
        _resume(store, blob_id, 10, cap, saved.last)
    first.close()
    _resume(store, blob_id, 10, cap, saved.last).close()


def test_backend_resume_state_carries_no_secret(backend: BlobBackend, store: BlobStore) -> None:
    cap = new_capability()
    blob_id, _, _, saved = _new(store, 4 * CHUNK, cap)
    writer = _resume(store, blob_id, 4 * CHUNK, cap, saved.last)
    writer.write_from(io.BytesIO(b"secret testimony" * 8), saved.store)
    assert "secret" not in saved.last.backend_state


def test_resumable_sha256_matches_hashlib_across_exports() -> None:
    data = os.urandom(1000)
    for cut in (0, 1, 55, 56, 63, 64, 65, 999, 1000):
        first = ResumableSha256()
        first.update(data[:cut])
        second = ResumableSha256(first.export())
        second.update(bytearray(data[cut:]))
        assert second.hexdigest() == hashlib.sha256(data).hexdigest()
