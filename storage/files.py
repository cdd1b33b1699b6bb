"""Small file helpers shared by the blob store, its backends and the key directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class Readable(Protocol):
    def readinto(self, buffer: bytearray | memoryview, /) -> int | None: ...


def read_full(src: Readable, buffer: bytearray | memoryview) -> int:
    """Read until ``buffer`` is full or the source ends; return the byte count."""
    view = memoryview(buffer)
    total = 0
    while total < len(view):
        n = src.readinto(view[total:])
        if not n:
            break
        total += n
    return total


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename or a new file in it) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
