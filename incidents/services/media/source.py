"""A seekable, read-only view of a blob for parsers that seek (Pillow, PyAV).

Blob readers decrypt forward only (STREAM chunks authenticate in order), so this view keeps a
few recently read chunks; a seek forward decrypts and discards, a seek backward beyond the
cache opens the blob again from the start. Memory stays at ``cache_chunks`` × chunk size
whatever the file size, so a 2 GiB video is never held in memory.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Protocol, cast


class ChunkReader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


DEFAULT_CHUNK = 1024 * 1024
DEFAULT_CACHE_CHUNKS = 8


class SeekableBlob(io.RawIOBase):
    """``read``/``readinto``/``seek``/``tell`` over readers made by ``opener`` (one per pass)."""

    def __init__(
        self,
        opener: Callable[[], ChunkReader],
        size: int,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        cache_chunks: int = DEFAULT_CACHE_CHUNKS,
    ) -> None:
        super().__init__()
        self._opener = opener
        self._size = size
        self._chunk = chunk_size
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_chunks = max(2, cache_chunks)
        self._reader: ChunkReader | None = None
        self._next_index = 0  # index of the chunk the open reader returns next
        self._pos = 0
        self.passes = 0  # how many times the blob was opened: reported in tests and logs

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        total = 0
        while total < len(view) and self._pos < self._size:
            index, within = divmod(self._pos, self._chunk)
            chunk = self._get(index)
            if within >= len(chunk):
                break
            n = min(len(view) - total, len(chunk) - within)
            view[total : total + n] = chunk[within : within + n]
            total += n
            self._pos += n
        return total

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = max(0, self._size - self._pos)
        buf = bytearray(min(size, max(0, self._size - self._pos)))
        n = self.readinto(buf)
        return bytes(buf[:n])

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._cache.clear()
        super().close()

    def _get(self, index: int) -> bytes:
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        if self._reader is None or index < self._next_index:
            self._reopen()
        assert self._reader is not None
        chunk = b""
        while self._next_index <= index:
            chunk = _read_exactly(self._reader, self._chunk)
            if self._next_index >= index - self._cache_chunks // 2:
                self._remember(self._next_index, chunk)
            self._next_index += 1
            if len(chunk) < self._chunk:
                break
        return chunk if self._next_index - 1 == index else b""

    def _remember(self, index: int, chunk: bytes) -> None:
        self._cache[index] = chunk
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_chunks:
            self._cache.popitem(last=False)

    def _reopen(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader = self._opener()
        self._next_index = 0
        self.passes += 1


def _read_exactly(reader: ChunkReader, n: int) -> bytes:
    parts: list[bytes] = []
    want = n
    while want > 0:
        piece = reader.read(want)
        if not piece:
            break
        parts.append(piece)
        want -= len(piece)
    return b"".join(parts)


def as_binary(blob: SeekableBlob) -> IO[bytes]:
    """The blob as the binary file Pillow and PyAV expect (typeshed types RawIOBase apart)."""
    return cast(IO[bytes], blob)
