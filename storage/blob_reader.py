"""Reading a blob back: each chunk authenticated before any of its bytes are returned.

Byte format in docs/formats.md; the reader can also re-hash plaintext and ciphertext on
worker threads while it decrypts (``BlobStore.verify``).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

from storage.backends.base import BlobSource
from storage.crypto.hashing import BackgroundHasher
from storage.crypto.stream import (
    HEADER_LEN,
    RECORD_PREFIX_LEN,
    TAG_LEN,
    VERSION_APPENDABLE,
    StreamDecryptor,
)
from storage.errors import BlobIntegrityError
from storage.files import read_full


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
            if read_full(src, header) != HEADER_LEN:
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
        self._framed = self._dec.version == VERSION_APPENDABLE
        record = self._dec.record_size + (RECORD_PREFIX_LEN if self._framed else 0)
        self._rec = [bytearray(record), bytearray(record)]
        try:
            self._rec_len = [self._read_record(self._rec[0]), 0]
        except BaseException:
            src.close()
            raise
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

    def _read_record(self, buf: bytearray) -> int:
        """Read the next stored record into ``buf``; 0 at the end of the blob."""
        if not self._framed:  # version 1: every record but the last is full-size
            return read_full(self._src, buf)
        view = memoryview(buf)
        got = read_full(self._src, view[:RECORD_PREFIX_LEN])
        if got == 0:
            return 0
        if got < RECORD_PREFIX_LEN:
            raise BlobIntegrityError(self.blob_id, "truncated inside a chunk header")
        length = self._dec.record_length(view[:RECORD_PREFIX_LEN])
        body = length - RECORD_PREFIX_LEN
        if read_full(self._src, view[RECORD_PREFIX_LEN:length]) != body or body < TAG_LEN:
            raise BlobIntegrityError(self.blob_id, "truncated inside a chunk")
        return length

    def _next_chunk(self) -> bool:
        """Authenticate and decrypt the next chunk into a plaintext buffer; False at the end."""
        if self._closed:
            raise ValueError("I/O operation on closed blob reader")
        if self._dec.finished:
            return False
        nxt = self._cur ^ 1
        if self._ct_hash is not None:
            self._ct_hash.wait(self._rec_ticket[nxt])
        self._rec_len[nxt] = self._read_record(self._rec[nxt])
        final = self._rec_len[nxt] == 0
        record = memoryview(self._rec[self._cur])[: self._rec_len[self._cur]]
        out = self._out ^ 1 if self._pt_hash is not None else self._out
        if self._pt_hash is not None:
            self._pt_hash.wait(self._pt_ticket[out])
        if self._framed:
            n = self._dec.decrypt_record(record, memoryview(self._pt[out]), final=final)
        else:
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
