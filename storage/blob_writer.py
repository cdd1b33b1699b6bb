"""Writing a blob: plaintext streamed in, hashed and encrypted as it arrives.

The plaintext and ciphertext SHA-256 are computed on worker threads while the data streams,
into two alternating buffer sets, so memory stays constant whatever the blob size.
Plaintext never touches the disk.
"""

from __future__ import annotations

import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from storage import buffers
from storage.backends.base import BlobBackend, BlobSink, Bytes, check_name
from storage.crypto.hashing import BackgroundHasher
from storage.crypto.keys import KeyProvider
from storage.crypto.stream import TAG_LEN, StreamEncryptor, new_data_key
from storage.errors import BlobTooLarge, BlobWriterClosed, StorageError

# Buffer sets a writer rotates through, so encryption and I/O on one chunk overlap the
# hashing of the previous ones.
PIPELINE_DEPTH = 2


def new_blob_id() -> str:
    """A fresh random blob id (128 bits, lowercase hex): the blob's storage name."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class StoredBlob:
    """What ``put``/``commit`` returns; store every field with the evidence record."""

    blob_id: str
    size: int
    sha256: str  # of the plaintext, hex; secret (DESIGN.md §3): keep it encrypted at rest
    ciphertext_sha256: str  # of the stored bytes, hex; for keyless scrubbing
    key_id: str
    sealed_key: bytes

    def __repr__(self) -> str:  # keep the plaintext hash out of logs and tracebacks
        return f"StoredBlob(blob_id={self.blob_id!r}, size={self.size}, key_id={self.key_id!r})"


class _WriteAborted(StorageError):
    """Thrown into a backend writer to make it discard the temporary data."""


class BlobWriter:
    """Push-style writer: ``write()`` repeatedly, then ``commit()`` (or ``abort()``).

    As a context manager it aborts on exit unless ``commit()`` was called, so an exception,
    a dropped client or a forgotten commit leaves nothing visible. ``write`` past
    ``max_size`` aborts and raises BlobTooLarge.
    """

    def __init__(
        self,
        backend: BlobBackend,
        keys: KeyProvider,
        *,
        chunk_size: int,
        blob_id: str | None = None,
        max_size: int | None = None,
    ) -> None:
        self.blob_id = check_name(blob_id) if blob_id is not None else new_blob_id()
        self.max_size = max_size
        self.chunk_size = chunk_size
        data_key = new_data_key()
        # Seal first: if the key provider fails, nothing has been written.
        self._key_id, self._sealed = keys.seal_data_key(data_key, self.blob_id)
        self._enc = StreamEncryptor(data_key, self.blob_id, chunk_size)
        del data_key
        self._pt_hash = BackgroundHasher()
        self._ct_hash = BackgroundHasher()
        self._pt = [buffers.take(chunk_size) for _ in range(PIPELINE_DEPTH)]
        self._ct = [buffers.take(chunk_size + TAG_LEN) for _ in range(PIPELINE_DEPTH)]
        self._pt_ticket = [0] * PIPELINE_DEPTH
        self._ct_ticket = [0] * PIPELINE_DEPTH
        self._cur = 0
        self._fill = 0
        self._pending: int | None = None  # a full buffer not yet known to be final or not
        self._size = 0
        self._state = "open"
        self._cm: AbstractContextManager[BlobSink] = backend.writer(self.blob_id)
        self._sink = self._cm.__enter__()
        try:
            header = memoryview(self._enc.header)
            self._ct_hash.update(header)
            self._sink.write(header)
        except BaseException:
            self.abort()
            raise

    @property
    def size(self) -> int:
        """Plaintext bytes accepted so far."""
        return self._size

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()

    def write(self, data: Bytes) -> int:
        """Accept the next bytes; return how many (always all of them)."""
        self._check_open()
        view = memoryview(data).cast("B")
        self._count(len(view))
        try:
            pos = 0
            while pos < len(view):
                space = self._space()
                n = min(len(space), len(view) - pos)
                space[:n] = view[pos : pos + n]
                self._advance(n)
                pos += n
        except BaseException:
            self.abort()
            raise
        return len(view)

    def write_from(self, stream: Any) -> None:
        """Read ``stream`` (anything with ``readinto``) to its end straight into the buffers."""
        self._check_open()
        try:
            while True:
                space = self._space()
                if self.max_size is not None:  # read at most one byte past the limit
                    space = space[: max(1, self.max_size - self._size + 1)]
                n = stream.readinto(space)
                if not n:
                    if n is None:
                        raise StorageError("non-blocking streams are not supported")
                    return
                self._count(n)
                self._advance(n)
        except BaseException:
            self.abort()
            raise

    def commit(self) -> StoredBlob:
        """Write the final chunk, make the blob visible and return its record."""
        self._check_open()
        try:
            if self._pending is not None:
                self._emit(self._pending, self.chunk_size, final=True)
            else:
                self._emit(self._cur, self._fill, final=True)
            sha256 = self._pt_hash.hexdigest()
            ciphertext_sha256 = self._ct_hash.hexdigest()
            self._cm.__exit__(None, None, None)
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        self._release()
        return StoredBlob(
            blob_id=self.blob_id,
            size=self._size,
            sha256=sha256,
            ciphertext_sha256=ciphertext_sha256,
            key_id=self._key_id,
            sealed_key=self._sealed,
        )

    def abort(self) -> None:
        """Discard everything written so far (idempotent; a no-op after commit)."""
        if self._state != "open":
            return
        self._state = "aborted"
        self._pt_hash.close()
        self._ct_hash.close()
        err = _WriteAborted(f"write of blob {self.blob_id} aborted")
        try:
            self._cm.__exit__(_WriteAborted, err, None)
        except _WriteAborted:
            pass
        finally:
            self._release()

    def _check_open(self) -> None:
        if self._state != "open":
            raise BlobWriterClosed(f"writer for blob {self.blob_id} is {self._state}")

    def _count(self, n: int) -> None:
        self._size += n
        if self.max_size is not None and self._size > self.max_size:
            self.abort()
            raise BlobTooLarge(f"blob is larger than the limit of {self.max_size} bytes")

    def _space(self) -> memoryview:
        """The free part of the current plaintext buffer, switching buffers when it is full."""
        if self._fill == self.chunk_size:
            self._pending = self._cur
            self._cur = (self._cur + 1) % PIPELINE_DEPTH
            self._pt_hash.wait(self._pt_ticket[self._cur])
            self._fill = 0
        return memoryview(self._pt[self._cur])[self._fill :]

    def _advance(self, n: int) -> None:
        if n and self._pending is not None:
            # More data arrived, so the buffered full chunk is not the last one.
            self._emit(self._pending, self.chunk_size, final=False)
            self._pending = None
        self._fill += n

    def _emit(self, idx: int, n: int, *, final: bool) -> None:
        self._ct_hash.wait(self._ct_ticket[idx])
        plain = memoryview(self._pt[idx])[:n]
        m = self._enc.encrypt_chunk(plain, memoryview(self._ct[idx]), final=final)
        cipher = memoryview(self._ct[idx])[:m]
        self._pt_ticket[idx] = self._pt_hash.update(plain)
        self._ct_ticket[idx] = self._ct_hash.update(cipher)
        self._sink.write(cipher)

    def _release(self) -> None:
        self._pt_hash.close()
        self._ct_hash.close()
        for buf in self._pt:  # wiped: no plaintext lies in a kept buffer
            buffers.give(buf, wipe=True)
        for buf in self._ct:
            buffers.give(buf, wipe=False)
        self._pt = []
        self._ct = []
