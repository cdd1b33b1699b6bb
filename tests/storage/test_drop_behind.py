"""A local blob does not stay in the page cache: written, appended or read, its pages go.

What an operator sees with `fincore` (util-linux): how much of a blob file the kernel holds
in memory. A blob written once and read rarely should not push out the database and the code
(storage/backends/local.py, DROP_BEHIND).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from storage.backends.local import APPEND_PREFIX, DROP_BEHIND, LocalBackend
from storage.files import read_full

MiB = 1024 * 1024
SIZE = 40 * MiB

pytestmark = pytest.mark.skipif(shutil.which("fincore") is None, reason="needs util-linux")


def _resident(path: Path) -> int:
    out = subprocess.run(  # noqa: S603 (fixed arguments)
        ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],  # noqa: S607
        check=True, capture_output=True, text=True).stdout
    return int(out.strip())


def _blob_path(root: Path, name: str) -> Path:
    return root / name[:2] / name


@pytest.fixture
def data() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    probe = tmp_path / "probe"
    probe.write_bytes(b"x" * MiB)
    fd = os.open(probe, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
    if _resident(probe) != 0:  # tmpfs: its pages are the file, they cannot be dropped
        pytest.skip("the temporary folder keeps its pages in memory")
    return tmp_path / "blobs"


def _write(backend: LocalBackend, data: bytes) -> str:
    name = secrets.token_hex(16)
    with backend.writer(name) as sink:
        for i in range(0, len(data), MiB):
            sink.write(data[i:i + MiB])
    return name


def test_a_written_blob_leaves_at_most_one_window_in_the_page_cache(
        root: Path, data: bytes) -> None:
    name = _write(LocalBackend(root, fsync=True), data)
    assert _resident(_blob_path(root, name)) <= DROP_BEHIND
    assert _blob_path(root, name).read_bytes() == data


def test_without_fsync_nothing_is_dropped(root: Path, data: bytes) -> None:
    # Dirty pages cannot be dropped; the store without fsync (tests, scratch) keeps them.
    name = _write(LocalBackend(root, fsync=False), data)
    assert _resident(_blob_path(root, name)) >= SIZE - DROP_BEHIND


def test_an_appended_blob_is_dropped_at_each_checkpoint(root: Path, data: bytes) -> None:
    backend = LocalBackend(root, fsync=True)
    name = secrets.token_hex(16)
    sink = backend.append(name, None)
    state = ""
    for i in range(0, len(data), 4 * MiB):
        sink.write(data[i:i + 4 * MiB])
        if i % (8 * MiB):
            state = sink.checkpoint()
    sink.close()
    partial = root / name[:2] / (APPEND_PREFIX + name)
    assert _resident(partial) <= 8 * MiB
    sink = backend.append(name, state)  # resumed in another request: still dropped behind
    sink.complete()
    assert _resident(_blob_path(root, name)) <= 8 * MiB
    assert _blob_path(root, name).read_bytes() == data


def test_reading_a_blob_drops_what_was_read(root: Path, data: bytes) -> None:
    backend = LocalBackend(root, fsync=False)
    name = _write(backend, data)
    assert _resident(_blob_path(root, name)) >= SIZE - DROP_BEHIND  # all in memory now
    os.sync()  # written back, so droppable
    src = backend.open(name)
    buf = bytearray(MiB)
    seen = bytearray()
    while n := read_full(src, buf):
        seen += buf[:n]
    src.close()
    assert seen == data
    # What is left is the last window and the kernel's read-ahead past it.
    assert _resident(_blob_path(root, name)) <= DROP_BEHIND + 2 * MiB
