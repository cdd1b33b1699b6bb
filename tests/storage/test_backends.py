"""The BlobBackend contract, run against the local folder and the S3 API alike."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from storage.backends import BACKENDS, BlobBackend, LocalBackend, S3Backend, make_backend
from storage.backends.s3 import MIN_PART_SIZE
from storage.errors import BlobExists, BlobNotFound, InvalidBlobName
from tests.storage.conftest import S3_CREDENTIALS, make_s3_backend


def _name() -> str:
    return secrets.token_hex(16)


def _write(backend: BlobBackend, name: str, data: bytes) -> None:
    with backend.writer(name) as sink:
        sink.write(data)


def test_a_written_blob_reads_back_and_is_listed(backend: BlobBackend) -> None:
    name = _name()
    _write(backend, name, b"ciphertext")
    assert backend.exists(name)
    src = backend.open(name)
    assert src.read() == b"ciphertext"
    src.close()
    assert list(backend.names()) == [name]


def test_a_blob_is_invisible_until_the_writer_exits(backend: BlobBackend) -> None:
    name = _name()
    with backend.writer(name) as sink:
        sink.write(b"part one")
        assert not backend.exists(name)
        assert list(backend.names()) == []
    assert backend.exists(name)


def test_an_exception_in_the_writer_leaves_no_blob_and_no_temp(backend: BlobBackend) -> None:
    name = _name()

    def interrupted() -> None:
        with backend.writer(name) as sink:
            sink.write(b"half")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        interrupted()
    assert not backend.exists(name)
    assert backend.sweep_temporary() == []


def test_an_existing_blob_is_never_overwritten(backend: BlobBackend) -> None:
    name = _name()
    _write(backend, name, b"original")
    with pytest.raises(BlobExists):
        _write(backend, name, b"replacement")
    src = backend.open(name)
    assert src.read() == b"original"
    src.close()


def test_open_of_a_missing_blob_raises_blob_not_found(backend: BlobBackend) -> None:
    with pytest.raises(BlobNotFound):
        backend.open(_name())
    assert not backend.exists(_name())


def test_delete_removes_and_tolerates_missing(backend: BlobBackend) -> None:
    name = _name()
    _write(backend, name, b"x")
    backend.delete(name)
    backend.delete(name)
    assert not backend.exists(name)


@pytest.mark.parametrize(
    "bad",
    [
        "../../etc/passwd",
        "/abs",
        "C:\\x",
        "a" * 31,
        "a" * 33,
        "A" * 32,
        "ab/" + "c" * 29,
        "0" * 31 + "\x00",
        "0" * 31 + "\n",
        "",
        "..",
    ],
)
def test_names_that_are_not_server_made_ids_are_refused(backend: BlobBackend, bad: str) -> None:
    with pytest.raises(InvalidBlobName):
        backend.writer(bad).__enter__()
    with pytest.raises(InvalidBlobName):
        backend.open(bad)
    with pytest.raises(InvalidBlobName):
        backend.exists(bad)
    with pytest.raises(InvalidBlobName):
        backend.delete(bad)


def test_local_files_stay_under_the_root_with_private_modes(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "blobs")
    name = _name()
    _write(backend, name, b"x")
    path = tmp_path / "blobs" / name[:2] / name
    assert path.is_file()
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "blobs").stat().st_mode & 0o777 == 0o700


def test_local_sweep_respects_age_and_ignores_blobs(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "blobs")
    name = _name()
    _write(backend, name, b"kept")
    shard = tmp_path / "blobs" / name[:2]
    old = shard / ".tmp-0123456789abcdef"
    old.write_bytes(b"leftover")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    fresh = shard / ".tmp-fedcba9876543210"
    fresh.write_bytes(b"in progress")
    assert backend.sweep_temporary(older_than=3600) == [f"{name[:2]}/{old.name}"]
    assert fresh.exists()
    assert backend.sweep_temporary() == [f"{name[:2]}/{fresh.name}"]
    assert backend.exists(name)


def test_s3_sweep_aborts_stale_multipart_uploads(s3_endpoint: str) -> None:
    backend = make_s3_backend(s3_endpoint)
    name = _name()
    client = backend._s3
    client.create_multipart_upload(Bucket=backend.bucket, Key=backend.prefix + name)
    # (moto reports every upload as initiated in 2010, so the age cut-off is not tested here)
    assert backend.sweep_temporary() == [backend.prefix + name]
    assert client.list_multipart_uploads(Bucket=backend.bucket).get("Uploads", []) == []
    assert not backend.exists(name)


def test_the_registry_builds_both_kinds(tmp_path: Path, s3_endpoint: str) -> None:
    assert set(BACKENDS) == {"local", "s3"}
    assert isinstance(make_backend("local", root=tmp_path / "b"), LocalBackend)
    s3 = make_backend(
        "s3",
        bucket="any",
        endpoint_url=s3_endpoint,
        access_key="t",
        secret_key="t",
        region="us-east-1",
        prefix="p/",
    )
    assert isinstance(s3, S3Backend)
    with pytest.raises(ValueError, match="unknown blob backend"):
        make_backend("ftp")


def test_every_s3_write_carries_a_crc32_even_when_the_environment_says_otherwise(
        s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a blob's row trusts instead of reading the blob back: the server checks each
    # part's and object's CRC32 before it keeps the bytes (storage/backends/s3.py).
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    bucket = make_s3_backend(s3_endpoint).bucket
    backend = S3Backend(bucket=bucket, prefix="blobs/", endpoint_url=s3_endpoint,
                        part_size=MIN_PART_SIZE, **S3_CREDENTIALS)
    sent: list[tuple[str, object]] = []
    backend._s3.meta.events.register(  # the requests as they leave for the server
        "before-send.s3.*",
        lambda request, **_: sent.append((request.method + " " + request.url, request.headers.get(
            "x-amz-checksum-crc32"))))
    _write(backend, _name(), b"small")  # one PutObject
    _write(backend, _name(), os.urandom(MIN_PART_SIZE + 1))  # multipart
    sink = backend.append(_name(), None)
    sink.write(os.urandom(MIN_PART_SIZE + 1))
    sink.checkpoint()  # a part
    sink.close()
    puts = [(url, crc) for url, crc in sent if url.startswith("PUT ")]
    assert sum("partNumber=" in url for url, _ in puts) >= 2  # the writer's and the append's
    assert sum("partNumber=" not in url for url, _ in puts) >= 1  # the small PutObject
    assert all(crc for _, crc in puts), puts
