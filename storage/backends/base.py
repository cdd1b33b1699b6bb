"""The interface every blob backend implements, and the rule for blob names."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from storage.errors import InvalidBlobName

Bytes = bytes | bytearray | memoryview

# Blob names are made by the server (secrets.token_hex(16)); nothing else may become a path
# or an object key, so a client-supplied name can never reach a backend.
BLOB_NAME_RE = re.compile(r"[0-9a-f]{32}")


def check_name(name: str) -> str:
    """Return ``name`` if it is a well-formed blob name, else raise InvalidBlobName."""
    if not isinstance(name, str) or not BLOB_NAME_RE.fullmatch(name):
        raise InvalidBlobName("blob names are 32 lowercase hex digits made by the server")
    return name


class BlobSink(Protocol):
    """Where a backend writer sends bytes."""

    def write(self, data: Bytes, /) -> int: ...


class AppendSink(Protocol):
    """The write end of an appendable blob: bytes kept across requests and processes.

    ``checkpoint`` makes everything written so far durable and returns the backend's resume
    state (JSON text, no secrets); ``BlobBackend.append(name, state)`` continues from
    exactly that point in any process, discarding whatever was written after it.
    """

    def write(self, data: Bytes, /) -> int: ...

    def checkpoint(self) -> str: ...

    def complete(self) -> None:
        """Make the blob visible under its name (never overwriting one)."""
        ...

    def close(self) -> None:
        """Let go of the sink; what was checkpointed stays."""
        ...


class BlobSource(Protocol):
    """A committed blob opened for reading."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readinto(self, buffer: bytearray | memoryview, /) -> int | None: ...

    def close(self) -> None: ...


class BlobBackend(Protocol):
    """Stores opaque (already encrypted) blobs under server-made names."""

    def writer(self, name: str) -> AbstractContextManager[BlobSink]:
        """Write to a temporary place; the blob becomes visible only on a clean exit."""
        ...

    def open(self, name: str) -> BlobSource:
        """Open a committed blob; raise BlobNotFound."""
        ...

    def append(self, name: str, state: str | None) -> AppendSink:
        """Start (``state`` None) or continue an appendable blob, invisible until complete."""
        ...

    def discard_append(self, name: str, state: str) -> None:
        """Remove the bytes of an appendable blob that will never complete."""
        ...

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None:
        """Remove a committed blob (missing is not an error)."""
        ...

    def sweep_temporary(
        self, older_than: float = 0, keep: Collection[str] = ()
    ) -> list[str]:
        """Remove leftovers of interrupted writes older than ``older_than`` seconds, except
        those of the appendable blobs named in ``keep`` (uploads still in flight)."""
        ...

    def names(self) -> Iterator[str]:
        """The names of all committed blobs (never those in quarantine)."""
        ...

    def modified(self, name: str) -> float:
        """When a committed blob was written (POSIX time); raise BlobNotFound."""
        ...

    def quarantine(self, name: str) -> None:
        """Move a committed blob to ``quarantine/<name>`` in the same store (never deleted);
        raise BlobNotFound if it is not there (any more)."""
        ...

    def quarantined(self) -> Iterator[str]:
        """The names of the blobs in quarantine."""
        ...
