"""A real tus client (tuspy) against the real app behind a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select
from tusclient.client import TusClient
from tusclient.uploader import Uploader

from incidents.app import create_app
from incidents.models import Upload
from incidents.web.db import get_session
from storage.blobstore import BlobRef
from tests.uploads.conftest import TUS

CHUNK = 256 * 1024


class Sha256Uploader(Uploader):
    """tuspy sends SHA-1 checksums by default; we accept only SHA-256."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A file of 5½ chunks, so the last PATCH is a short one."""
    path = tmp_path / "video.mp4"
    path.write_bytes(os.urandom(5 * CHUNK + CHUNK // 2))
    return path


def _client(server, auth) -> TusClient:  # noqa: ANN001
    return TusClient(server.url + "/api/v1/uploads/",
                     headers={"Authorization": auth["Authorization"]})


def _stored_bytes(store, upload_url: str) -> bytes:  # noqa: ANN001
    session = get_session()
    session.expire_all()
    public_id = urlsplit(upload_url).path.rsplit("/", 1)[-1][:32]  # then the capability
    upload = session.scalars(select(Upload).where(Upload.public_id == public_id)).one()
    assert upload.state.value == "finished"
    ref = BlobRef(blob_id=upload.blob_id, key_id=upload.key_id, sealed_key=upload.sealed_key)
    with store.open(ref) as reader:
        return reader.read()


def _offset(server, auth, upload_url: str) -> int:  # noqa: ANN001
    response = requests.head(server.url + urlsplit(upload_url).path, headers=auth, timeout=10)
    assert response.status_code == 200
    return int(response.headers["Upload-Offset"])


def test_tuspy_uploads_a_file_in_checksummed_chunks_and_the_stored_bytes_are_identical(
        live_server, auth, store, sample):
    server = live_server()
    uploader = Sha256Uploader(
        file_path=str(sample), chunk_size=CHUNK, metadata={"filename": "video.mp4"},
        upload_checksum=True, client=_client(server, auth))
    uploader.upload()
    assert _stored_bytes(store, uploader.url) == sample.read_bytes()


def test_after_the_connection_is_cut_mid_patch_tuspy_resumes_from_what_arrived(
        live_server, auth, store, sample):
    server = live_server()
    data = sample.read_bytes()
    uploader = _client(server, auth).uploader(file_path=str(sample), chunk_size=len(data))
    upload_url = uploader.create_url()
    sent = CHUNK + 12345  # not on any boundary

    host, port = "127.0.0.1", urlsplit(server.url).port
    with socket.create_connection((host, port)) as sock:
        sock.sendall((
            f"PATCH {urlsplit(upload_url).path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: {auth['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
            "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data[:sent])
        time.sleep(0.2)
    # The server keeps what it received and reports it as the offset.
    deadline = time.monotonic() + 10
    while _offset(server, auth, upload_url) != sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _offset(server, auth, upload_url) == sent

    resumed = _client(server, auth).uploader(file_path=str(sample), url=upload_url,
                                             chunk_size=CHUNK)
    assert resumed.offset == sent
    resumed.upload()
    assert _stored_bytes(store, upload_url) == data


def test_an_upload_resumes_on_a_restarted_server_process(live_server, auth, store, sample,
                                                         settings):
    first = live_server()
    uploader = _client(first, auth).uploader(file_path=str(sample), chunk_size=CHUNK)
    uploader.upload_chunk()
    uploader.upload_chunk()
    upload_path = urlsplit(uploader.url).path
    first.stop()

    # A second application instance: its own engine, key ring and blob store objects.
    second_app = create_app(dataclasses.replace(settings))
    second = live_server(second_app)
    resumed = _client(second, auth).uploader(file_path=str(sample), url=second.url + upload_path,
                                             chunk_size=CHUNK)
    assert resumed.offset == 2 * CHUNK
    resumed.upload()
    second_app.extensions["database"].engine.dispose()
    assert _stored_bytes(store, upload_path) == sample.read_bytes()


def test_of_two_racing_patches_at_the_same_offset_only_one_is_kept(live_server, auth, store):
    server = live_server()
    data = os.urandom(4 * CHUNK)
    created = requests.post(server.url + "/api/v1/uploads/", timeout=10,
                            headers={**auth, "Upload-Length": str(len(data))})
    url = server.url + created.headers["Location"]
    results: list[int] = []

    def send() -> None:
        response = requests.patch(url, data=data, timeout=30, headers={
            **auth, **TUS, "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream"})
        results.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The loser finds the upload busy (423) or already past its offset (409).
    assert sorted(results)[0] == 204
    assert sorted(results)[1] in (409, 423)
    assert _stored_bytes(store, url) == data

