"""Blobs as files in a local folder: atomic writes, every path checked against the root."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import secrets
import time
from collections.abc import Collection, Iterator
from pathlib import Path

from storage.backends.base import BLOB_NAME_RE, BlobSource, check_name
from storage.errors import (
    BackendError,
    BlobBusy,
    BlobExists,
    BlobNotFound,
    InvalidBlobName,
    StorageFull,
)
from storage.files import fsync_dir

TMP_PREFIX = ".tmp-"
APPEND_PREFIX = ".up-"  # appendable blobs (uploads in flight): kept across restarts
QUARANTINE_DIR = "quarantine"  # orphaned blobs moved aside (never in names())

# Drop-behind: a blob is written once and read rarely (a scrub, an export, a media job), so
# its pages are let go of the page cache as it is written or read, every DROP_BEHIND bytes,
# instead of pushing out what the server does reuse (the database, the code). It also keeps
# a large upload from needing a gigabyte of fresh page cache: the same few megabytes of
# pages are reused (docs/performance.md, "Uploads as appendable blobs").
DROP_BEHIND = 8 * 1024 * 1024


def _backend_error(e: OSError, what: str) -> BackendError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(f"no space left while {what}")
    return BackendError(f"{what} failed ({e.__class__.__name__}, errno {e.errno})")


class LocalBackend:
    """Files under ``root/<first two hex digits>/<name>``, written via same-folder temp files."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._fsync = fsync

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.root)!r})"

    def _path(self, name: str) -> Path:
        check_name(name)
        path = (self.root / name[:2] / name).resolve()
        # Defence in depth: the regex already rules out separators and dots.
        if not path.is_relative_to(self.root):
            raise InvalidBlobName("blob path escapes the storage root")
        return path

    @contextlib.contextmanager
    def writer(self, name: str) -> Iterator[_FileSink]:
        """Write to ``.tmp-<random>`` beside the target; fsync and rename on a clean exit."""
        path = self._path(name)
        shard = path.parent
        if not shard.is_dir():
            shard.mkdir(mode=0o700, exist_ok=True)
            if self._fsync:
                fsync_dir(self.root)
        tmp = shard / f"{TMP_PREFIX}{secrets.token_hex(8)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError as e:
            raise BackendError(f"cannot create a temporary file for blob {name}") from e
        f = io.FileIO(fd, "wb")
        try:
            sink = _FileSink(f, name, _Dropper(fd, 0, sync=True) if self._fsync else None)
            yield sink
            try:
                if self._fsync:
                    os.fsync(f.fileno())
                # What is on disk is exactly what was written (a short write would show).
                if os.fstat(f.fileno()).st_size != sink.written:
                    raise BackendError(f"blob {name} has the wrong length on disk")
                f.close()
                # link() refuses an existing target atomically: a blob is never overwritten.
                os.link(tmp, path)
            except FileExistsError as e:
                raise BlobExists(f"blob {name} already exists") from e
            except OSError as e:
                raise _backend_error(e, f"committing blob {name}") from e
            tmp.unlink()
            if self._fsync:
                fsync_dir(shard)
        except BaseException:
            f.close()
            tmp.unlink(missing_ok=True)
            raise

    def append(self, name: str, state: str | None) -> _AppendFile:
        """``.up-<name>`` beside the target: fsynced at each checkpoint, linked at completion."""
        path = self._path(name)
        shard = path.parent
        tmp = shard / f"{APPEND_PREFIX}{name}"
        if state is None:
            if not shard.is_dir():
                shard.mkdir(mode=0o700, exist_ok=True)
                if self._fsync:
                    fsync_dir(self.root)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            size = 0
        else:
            flags = os.O_WRONLY | os.O_NOFOLLOW
            size = int(json.loads(state)["size"])
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileNotFoundError as e:
            raise BlobNotFound(f"the unfinished bytes of blob {name} are gone") from e
        except OSError as e:
            raise _backend_error(e, f"opening appendable blob {name}") from e
        try:
            # One writer at a time, even one whose database lease ran out while it sat in a
            # read: the kernel drops the lock when a process dies, however it dies.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            os.close(fd)
            raise BlobBusy(f"blob {name} is being appended to by another writer") from e
        try:
            if state is None and self._fsync:
                fsync_dir(shard)  # the file itself must survive a crash, not only its bytes
            # Whatever a crashed writer wrote after the last checkpoint is not part of it.
            os.ftruncate(fd, size)
            os.lseek(fd, size, os.SEEK_SET)
        except OSError as e:
            os.close(fd)
            raise _backend_error(e, f"opening appendable blob {name}") from e
        return _AppendFile(io.FileIO(fd, "wb"), name, tmp, path, size, self._fsync)

    def discard_append(self, name: str, state: str) -> None:
        path = self._path(name)
        (path.parent / f"{APPEND_PREFIX}{name}").unlink(missing_ok=True)

    def open(self, name: str) -> BlobSource:
        try:
            f = open(self._path(name), "rb", buffering=0)  # noqa: SIM115 (caller closes)
        except FileNotFoundError as e:
            raise BlobNotFound(f"blob {name} not found") from e
        return _FileSource(f)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def delete(self, name: str) -> None:
        path = self._path(name)
        path.unlink(missing_ok=True)
        if self._fsync and path.parent.exists():
            fsync_dir(path.parent)

    def sweep_temporary(self, older_than: float = 0, keep: Collection[str] = ()) -> list[str]:
        """Remove temp files of interrupted writes; return their paths relative to the root.

        With the default ``older_than=0`` this also removes temp files of writes still in
        progress in other processes, so run it at start-up or pass a generous age. Uploads
        in flight (``.up-`` files) are never touched here: they end when the upload
        service discards them (``discard_append``).
        """
        cutoff = time.time() - older_than
        removed: list[str] = []
        for shard in self._shards():
            for entry in os.scandir(shard):
                if not entry.name.startswith(TMP_PREFIX) or not entry.is_file(
                    follow_symlinks=False
                ):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime <= cutoff:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed.append(f"{shard.name}/{entry.name}")
        return removed

    def modified(self, name: str) -> float:
        try:
            return self._path(name).stat().st_mtime
        except FileNotFoundError as e:
            raise BlobNotFound(f"blob {name} not found") from e

    def quarantine(self, name: str) -> None:
        """Move the blob to ``root/quarantine/<name>`` (link, then unlink; fsynced)."""
        path = self._path(name)
        folder = self.root / QUARANTINE_DIR
        if not folder.is_dir():
            folder.mkdir(mode=0o700, exist_ok=True)
            if self._fsync:
                fsync_dir(self.root)
        try:
            os.link(path, folder / name)
        except FileNotFoundError as e:
            raise BlobNotFound(f"blob {name} not found") from e
        except FileExistsError as e:
            raise BlobExists(f"blob {name} is already in quarantine") from e
        except OSError as e:
            raise _backend_error(e, f"quarantining blob {name}") from e
        if self._fsync:
            fsync_dir(folder)
        path.unlink()
        if self._fsync:
            fsync_dir(path.parent)

    def quarantined(self) -> Iterator[str]:
        folder = self.root / QUARANTINE_DIR
        if not folder.is_dir():
            return
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if BLOB_NAME_RE.fullmatch(entry.name):
                yield entry.name

    def names(self) -> Iterator[str]:
        for shard in self._shards():
            for entry in os.scandir(shard):
                if BLOB_NAME_RE.fullmatch(entry.name) and entry.name[:2] == shard.name:
                    yield entry.name

    def _shards(self) -> Iterator[Path]:
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if len(entry.name) == 2 and entry.is_dir(follow_symlinks=False):
                yield Path(entry.path)


class _Dropper:
    """Let a file's pages go from the page cache every DROP_BEHIND bytes up to ``upto``.

    Written pages can only be dropped once they are on disk: with ``sync`` each step is an
    fdatasync first (the writer's final fsync then has little left to do). Without fsync
    (tests, a scratch store) nothing is dropped: dirty pages would stay anyway.
    """

    def __init__(self, fd: int, start: int, *, sync: bool) -> None:
        self._fd = fd
        self._start = start
        self._sync = sync

    def wrote(self, start: int, n: int) -> None:
        """Start writing these new bytes back now (on dirty pages DONTNEED only starts
        writeback), so the fsync that makes them durable has less left to wait for."""
        os.posix_fadvise(self._fd, start, n, os.POSIX_FADV_DONTNEED)

    def advance(self, upto: int, *, synced: bool = False) -> None:
        if upto - self._start < DROP_BEHIND and not synced:
            return
        if self._sync and not synced:
            os.fdatasync(self._fd)
        os.posix_fadvise(self._fd, self._start, upto - self._start, os.POSIX_FADV_DONTNEED)
        self._start = upto


class _FileSource:
    """A committed blob opened for reading, its pages dropped behind the reader."""

    def __init__(self, f: io.FileIO) -> None:
        self._f = f
        self._pos = 0
        self._drop = _Dropper(f.fileno(), 0, sync=False)
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)

    def read(self, size: int = -1, /) -> bytes:
        data = self._f.read(size)
        self._moved(len(data or b""))
        return data or b""

    def readinto(self, buffer: bytearray | memoryview, /) -> int | None:
        n = self._f.readinto(buffer)
        self._moved(n or 0)
        return n

    def _moved(self, n: int) -> None:
        self._pos += n
        self._drop.advance(self._pos)

    def close(self) -> None:
        self._f.close()


class _FileSink:
    """The write end handed out by ``LocalBackend.writer`` (write only; no seek, no close)."""

    def __init__(self, f: io.FileIO, name: str, drop: _Dropper | None = None) -> None:
        self._f = f
        self._name = name
        self._drop = drop
        self.written = 0

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        view = memoryview(data)
        total = 0
        try:
            while total < len(view):  # raw file writes may be short
                n = self._f.write(view[total:])
                if not n:
                    raise BackendError(f"short write to blob {self._name}")
                total += n
            self.written += total
            if self._drop is not None:
                self._drop.wrote(self.written - total, total)
                self._drop.advance(self.written)
        except OSError as e:
            raise _backend_error(e, f"writing blob {self._name}") from e
        return total


class _AppendFile:
    """The sink ``LocalBackend.append`` hands out."""

    def __init__(
        self, f: io.FileIO, name: str, tmp: Path, path: Path, size: int, fsync: bool
    ) -> None:
        self._f = f
        self._sink = _FileSink(f, name)
        self._name = name
        self._tmp = tmp
        self._path = path
        self._size = size
        self._fsync = fsync
        self._drop = _Dropper(f.fileno(), size, sync=False)

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        n = self._sink.write(data)
        if self._fsync:
            self._drop.wrote(self._size, n)
        self._size += n
        return n

    def checkpoint(self) -> str:
        try:
            if self._fsync:
                os.fsync(self._f.fileno())
                self._drop.advance(self._size, synced=True)
        except OSError as e:
            raise _backend_error(e, f"flushing blob {self._name}") from e
        return json.dumps({"size": self._size})

    def complete(self) -> None:
        try:
            if self._fsync:
                os.fsync(self._f.fileno())
            # What is on disk is exactly what was written (a short write, or another writer
            # that truncated the file, would show here) before the blob becomes visible.
            if os.fstat(self._f.fileno()).st_size != self._size:
                raise BackendError(f"blob {self._name} has the wrong length on disk")
            self._f.close()
            os.link(self._tmp, self._path)
        except FileExistsError as e:
            raise BlobExists(f"blob {self._name} already exists") from e
        except OSError as e:
            raise _backend_error(e, f"committing blob {self._name}") from e
        self._tmp.unlink()
        if self._fsync:
            fsync_dir(self._path.parent)

    def close(self) -> None:
        self._f.close()
