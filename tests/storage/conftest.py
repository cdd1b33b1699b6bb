"""Real keys, real files, and a real S3 API (a moto server subprocess on loopback).

The ``backend`` and ``store`` fixtures are parametrised so every blob test runs against both
the local folder backend and the S3 backend.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from storage.backends import BlobBackend, LocalBackend, S3Backend
from storage.blobstore import BlobStore
from storage.crypto.key_directory import Argon2Params
from storage.crypto.keys import VaultKeyRing
from tests.keys import init_keys, ring_of

CHUNK = 64  # small, so every chunk-boundary case needs only a few bytes
CHEAP_ARGON2 = Argon2Params(memory_cost=8, iterations=1, lanes=1)
S3_CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}
MOTO_SERVER = Path(sys.executable).parent / "moto_server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server in its own process, on a free loopback port, for the whole session."""
    port = _free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    proc = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def make_s3_backend(endpoint: str, bucket: str | None = None) -> S3Backend:
    """An S3Backend on a fresh (or the named) bucket of the moto server."""
    if bucket is None:
        bucket = f"evidence-{secrets.token_hex(6)}"
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=bucket)
    return S3Backend(bucket=bucket, prefix="blobs/", endpoint_url=endpoint, **S3_CREDENTIALS)


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    path = tmp_path / "keys"
    init_keys(path)
    return path


@pytest.fixture
def ring(key_dir: Path) -> VaultKeyRing:
    return ring_of(key_dir)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> BlobBackend:
    if request.param == "local":
        return LocalBackend(tmp_path / "blobs")
    return make_s3_backend(request.getfixturevalue("s3_endpoint"))


@pytest.fixture
def store(backend: BlobBackend, ring: VaultKeyRing) -> BlobStore:
    return BlobStore(backend, ring, chunk_size=CHUNK)


def raw(backend: BlobBackend, name: str) -> bytes:
    """The stored (encrypted) bytes of a blob."""
    src = backend.open(name)
    try:
        return src.read()
    finally:
        src.close()


def replace_raw(backend: BlobBackend, name: str, data: bytes) -> None:
    """Overwrite a stored blob behind the store's back, as an attacker with disk access would."""
    backend.delete(name)
    with backend.writer(name) as sink:
        sink.write(data)
