"""The evidence store: stream bytes in, hashed and encrypted; read them back authenticated.

Every blob gets a random id (its storage name, never derived from content), a fresh data
key sealed to the active vault key, and is written as STREAM-encrypted chunks
(storage.crypto.stream; byte format in docs/formats.md). Plaintext never touches the disk.
The plaintext and ciphertext SHA-256 are computed on worker threads while the data streams,
into two alternating buffer sets, so memory stays constant whatever the blob size.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO, Protocol

from storage.backends.base import BlobBackend, BlobSink, BlobSource, Bytes, check_name
from storage.crypto.hashing import BackgroundHasher
from storage.crypto.keys import KeyProvider
from storage.crypto.stream import (
    HEADER_LEN,
    TAG_LEN,
    StreamDecryptor,
    StreamEncryptor,
    new_data_key,
)
from storage.errors import BlobIntegrityError, BlobTooLarge, BlobWriterClosed, StorageError

# 1 MiB: at and above this size throughput is flat (docs/performance.md, "Evidence store"),
# and four such buffers per open writer keep memory small.
DEFAULT_CHUNK_SIZE = 1024 * 1024
# Buffer sets a writer rotates through, so encryption and I/O on one chunk overlap the
# hashing of the previous ones.
PIPELINE_DEPTH = 2


def new_blob_id() -> str:
    """A fresh random blob id (128 bits, lowercase hex): the blob's storage name."""
    return secrets.token_hex(16)


class SealedBlob(Protocol):
    """Anything that names a blob and carries its sealed data key (e.g. a database row)."""

    @property
    def blob_id(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    @property
    def sealed_key(self) -> bytes: ...


class RecordedBlob(SealedBlob, Protocol):
    """A ``SealedBlob`` that also carries the size and hashes recorded at ``put`` time."""

    @property
    def size(self) -> int: ...

    @property
    def sha256(self) -> str: ...

    @property
    def ciphertext_sha256(self) -> str: ...


@dataclass(frozen=True)
class BlobRef:
    """The minimum needed to open a blob: its id and sealed data key."""

    blob_id: str
    key_id: str
    sealed_key: bytes


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
        self._pt = [bytearray(chunk_size) for _ in range(PIPELINE_DEPTH)]
        self._ct = [bytearray(chunk_size + TAG_LEN) for _ in range(PIPELINE_DEPTH)]
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
        for buf in self._pt:  # do not leave plaintext lying in freed memory longer than needed
            buf[:] = bytes(len(buf))
        self._pt = []
        self._ct = []


def _fill(src: BlobSource, buf: bytearray) -> int:
    """Read until ``buf`` is full or the source ends; return the byte count."""
    view = memoryview(buf)
    total = 0
    while total < len(view):
        n = src.readinto(view[total:])
        if not n:
            break
        total += n
    return total


class BlobReader:
    """A decrypting reader: ``read``, ``readinto``, iteration in chunks, ``close``.

    Each chunk is authenticated before any of its bytes are returned; a tampered, truncated
    or swapped blob raises BlobIntegrityError naming the blob. Truncation after a chunk
    boundary is only detected when the end is reached, so a consumer that must not act on
    partial data reads to the end (or calls ``BlobStore.verify``) first.
    """

    def __init__(
        self,
        src: BlobSource,
        data_key: bytes,
        blob_id: str,
        *,
        expected_size: int | None = None,
        digests: bool = False,
    ) -> None:
        self.blob_id = blob_id
        self._src = src
        self._expected_size = expected_size
        self._closed = False
        try:
            header = bytearray(HEADER_LEN)
            if _fill(src, header) != HEADER_LEN:
                raise BlobIntegrityError(blob_id, "shorter than a blob header")
            self._dec = StreamDecryptor(data_key, blob_id, bytes(header))
        except BaseException:
            src.close()
            raise
        self.chunk_size = self._dec.chunk_size
        self._pt_hash = BackgroundHasher() if digests else None
        self._ct_hash = BackgroundHasher() if digests else None
        if self._ct_hash is not None:
            self._ct_hash.update(memoryview(bytes(header)))
        record = self._dec.record_size
        self._rec = [bytearray(record), bytearray(record)]
        self._rec_len = [_fill(src, self._rec[0]), 0]
        self._rec_ticket = [0, 0]
        # Hashing reads one plaintext buffer while the next chunk is decrypted into the other.
        self._pt = [bytearray(self.chunk_size) for _ in range(2 if digests else 1)]
        self._pt_ticket = [0, 0]
        self._cur = 0  # record buffer holding the next chunk to decrypt
        self._out = 0  # plaintext buffer holding the current chunk
        self._pt_len = 0
        self._pt_pos = 0
        self._size = 0

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        chunk = self.read(self.chunk_size)
        if not chunk:
            raise StopIteration
        return chunk

    @property
    def closed(self) -> bool:
        return self._closed

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` plaintext bytes (all remaining if negative); b"" at the end."""
        if size is None or size < 0:
            size = 1 << 62
        parts: list[bytes] = []
        while size > 0:
            if self._pt_pos == self._pt_len and not self._next_chunk():
                break
            n = min(size, self._pt_len - self._pt_pos)
            parts.append(bytes(self._pt[self._out][self._pt_pos : self._pt_pos + n]))
            self._pt_pos += n
            size -= n
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fill ``buffer`` with up to ``len(buffer)`` bytes of the current chunk; 0 at the end."""
        view = memoryview(buffer).cast("B")
        if not view:
            return 0
        if self._pt_pos == self._pt_len and not self._next_chunk():
            return 0
        n = min(len(view), self._pt_len - self._pt_pos)
        view[:n] = memoryview(self._pt[self._out])[self._pt_pos : self._pt_pos + n]
        self._pt_pos += n
        return n

    def readall(self) -> bytes:
        return self.read(-1)

    def drain(self) -> tuple[int, str, str]:
        """Read to the end; return (size, plaintext sha256, ciphertext sha256) if hashing."""
        if self._pt_hash is None or self._ct_hash is None:
            raise ValueError("reader was opened without digests")
        while self._next_chunk():
            pass
        return self._size, self._pt_hash.hexdigest(), self._ct_hash.hexdigest()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for hasher in (self._pt_hash, self._ct_hash):
            if hasher is not None:
                hasher.close()
        self._src.close()
        for buf in self._pt:
            buf[:] = bytes(len(buf))
        self._pt = []
        self._rec = []

    def _next_chunk(self) -> bool:
        """Authenticate and decrypt the next chunk into a plaintext buffer; False at the end."""
        if self._closed:
            raise ValueError("I/O operation on closed blob reader")
        if self._dec.finished:
            return False
        nxt = self._cur ^ 1
        if self._ct_hash is not None:
            self._ct_hash.wait(self._rec_ticket[nxt])
        self._rec_len[nxt] = _fill(self._src, self._rec[nxt])
        final = self._rec_len[nxt] == 0
        record = memoryview(self._rec[self._cur])[: self._rec_len[self._cur]]
        out = self._out ^ 1 if self._pt_hash is not None else self._out
        if self._pt_hash is not None:
            self._pt_hash.wait(self._pt_ticket[out])
        n = self._dec.decrypt_chunk(record, memoryview(self._pt[out]), final=final)
        if self._ct_hash is not None and self._pt_hash is not None:
            self._rec_ticket[self._cur] = self._ct_hash.update(record)
            self._pt_ticket[out] = self._pt_hash.update(memoryview(self._pt[out])[:n])
        self._cur = nxt
        self._out = out
        self._pt_len = n
        self._pt_pos = 0
        self._size += n
        if final and self._expected_size is not None and self._size != self._expected_size:
            raise BlobIntegrityError(
                self.blob_id, f"size is {self._size} bytes, {self._expected_size} were recorded"
            )
        return True


class BlobStore:
    """Encrypted, hashed, atomically written evidence blobs on a backend."""

    def __init__(
        self, backend: BlobBackend, keys: KeyProvider, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        self.backend = backend
        self.keys = keys
        self.chunk_size = chunk_size

    def writer(self, *, blob_id: str | None = None, max_size: int | None = None) -> BlobWriter:
        """Start a push-style write (for streaming multipart parsers and tus uploads)."""
        return BlobWriter(
            self.backend, self.keys, chunk_size=self.chunk_size, blob_id=blob_id, max_size=max_size
        )

    def put(
        self,
        stream: BinaryIO | Iterable[bytes],
        *,
        blob_id: str | None = None,
        max_size: int | None = None,
    ) -> StoredBlob:
        """Store a file-like object or an iterable of byte strings; raise BlobTooLarge early."""
        with self.writer(blob_id=blob_id, max_size=max_size) as w:
            if isinstance(stream, bytes | bytearray | memoryview):
                w.write(stream)
            elif hasattr(stream, "readinto"):
                w.write_from(stream)
            elif hasattr(stream, "read"):
                while piece := stream.read(self.chunk_size):
                    w.write(piece)
            else:
                for piece in stream:
                    w.write(piece)
            return w.commit()

    def open(self, blob: SealedBlob) -> BlobReader:
        """Open a blob for authenticated reading (raises SealedKeyError, BlobNotFound…)."""
        data_key = self.keys.unseal_data_key(blob.key_id, blob.sealed_key, blob.blob_id)
        src = self.backend.open(check_name(blob.blob_id))
        return BlobReader(src, data_key, blob.blob_id, expected_size=getattr(blob, "size", None))

    def verify(self, blob: RecordedBlob) -> None:
        """Decrypt the whole blob and compare size, plaintext and ciphertext SHA-256."""
        data_key = self.keys.unseal_data_key(blob.key_id, blob.sealed_key, blob.blob_id)
        src = self.backend.open(check_name(blob.blob_id))
        with BlobReader(src, data_key, blob.blob_id, digests=True) as reader:
            size, sha256, ciphertext_sha256 = reader.drain()
        if ciphertext_sha256 != blob.ciphertext_sha256:
            raise BlobIntegrityError(blob.blob_id, "ciphertext SHA-256 differs from the record")
        if size != blob.size:
            raise BlobIntegrityError(blob.blob_id, f"size is {size}, {blob.size} were recorded")
        if sha256 != blob.sha256:
            raise BlobIntegrityError(blob.blob_id, "plaintext SHA-256 differs from the record")

    def verify_ciphertext(self, blob: RecordedBlob) -> None:
        """Keyless scrub: compare the stored bytes' SHA-256 with the recorded one."""
        digest = hashlib.sha256()
        buf = bytearray(self.chunk_size)
        src = self.backend.open(check_name(blob.blob_id))
        try:
            while n := src.readinto(buf):
                digest.update(memoryview(buf)[:n])
        finally:
            src.close()
        if digest.hexdigest() != blob.ciphertext_sha256:
            raise BlobIntegrityError(blob.blob_id, "ciphertext SHA-256 differs from the record")

    def delete(self, blob_id: str) -> None:
        """Remove a blob. Only for abandoned uploads: evidence originals are never deleted."""
        self.backend.delete(check_name(blob_id))

    def exists(self, blob_id: str) -> bool:
        return self.backend.exists(check_name(blob_id))

    def sweep_temporary(self, older_than: float = 0) -> list[str]:
        """Remove leftovers of interrupted writes (see the backend's ``sweep_temporary``)."""
        return self.backend.sweep_temporary(older_than)
