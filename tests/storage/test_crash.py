"""A process SIGKILLed in the middle of a put leaves no visible blob, only sweepable debris."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from storage.backends import BlobBackend, LocalBackend
from tests.storage.conftest import make_s3_backend

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from storage.backends import LocalBackend
    from storage.blobstore import BlobStore
    from tests.keys import ring_of
    from tests.storage.conftest import make_s3_backend

    kind, where, keys, size = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    if kind == "local":
        backend = LocalBackend(where)
    else:
        endpoint, bucket = where.split("|")
        backend = make_s3_backend(endpoint, bucket)
    store = BlobStore(backend, ring_of(Path(keys)), chunk_size=1024 * 1024)

    def stalled():
        yield b"x" * size
        yield b"y" * 10
        print("READY", flush=True)
        time.sleep(60)
        yield b"never"

    store.put(stalled())
    """
)


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_a_put_killed_midway_leaves_no_blob_and_sweep_removes_the_leftover(
    kind: str, tmp_path: Path, key_dir: Path, request: pytest.FixtureRequest
) -> None:
    backend: BlobBackend
    if kind == "local":
        backend = LocalBackend(tmp_path / "blobs")
        where = str(tmp_path / "blobs")
        size = 3 * 1024 * 1024
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        backend = make_s3_backend(endpoint)
        where = f"{endpoint}|{backend.bucket}"  # type: ignore[attr-defined]
        size = 9 * 1024 * 1024  # past one 8 MiB part, so a multipart upload is open
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ROOT), kind, where, str(key_dir), str(size)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"READY"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    assert list(backend.names()) == []
    swept = backend.sweep_temporary()
    assert len(swept) == 1
    assert backend.sweep_temporary() == []
    if isinstance(backend, LocalBackend):
        assert [p for p in backend.root.rglob("*") if p.is_file()] == []
