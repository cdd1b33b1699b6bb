"""Nothing received is lost to a crash: real gunicorn processes, SIGKILLed mid-PATCH.

The body is sent over a raw socket so the test knows exactly how much the server received;
after the kill a fresh server answers HEAD with an offset at most one checkpoint
(8 MiB) behind, and the upload resumes from it to a blob identical to the file.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from incidents.core.clock import utcnow
from incidents.core.settings import Settings
from incidents.models import Upload, UploadFormat, UploadState
from incidents.services import uploads
from incidents.web.db import get_session
from storage.appendable import CHECKPOINT_BYTES
from storage.blobstore import BlobRef, BlobStore
from tests.conftest import POSTGRES_URL, REDIS_URL
from tests.servers import Gunicorn
from tests.uploads.conftest import TUS, create, patch

MiB = 1024 * 1024


@pytest.fixture
def gunicorn(settings: Settings) -> Iterator[type[Gunicorn]]:
    started: list[Gunicorn] = []

    class Started(Gunicorn):
        def __init__(self) -> None:
            super().__init__(settings, POSTGRES_URL, REDIS_URL)
            started.append(self)

    yield Started  # type: ignore[misc]
    for server in started:
        server.kill()


def _head(url: str, path: str, auth: dict[str, str]) -> int:
    response = requests.head(url + path, headers=auth, timeout=30)
    assert response.status_code == 200
    return int(response.headers["Upload-Offset"])


def _send_part(url: str, path: str, auth: dict[str, str], total: int, data: bytes,
               offset: int = 0) -> socket.socket:
    """Start a PATCH declaring ``total`` bytes and send only ``data``: the rest never comes."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.sendall((
        f"PATCH {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: {auth['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
        f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {total}\r\n\r\n").encode())
    view = memoryview(data)
    for start in range(0, len(view), MiB):
        sock.sendall(view[start:start + MiB])
    return sock


def _stored(store: BlobStore, path: str) -> bytes:
    session = get_session()
    session.expire_all()
    upload = session.scalars(select(Upload).where(
        Upload.public_id == path.rsplit("/", 1)[-1][:uploads.PUBLIC_ID_LEN])).one()
    assert upload.state is UploadState.FINISHED
    ref = BlobRef(blob_id=upload.blob_id, key_id=upload.key_id, sealed_key=upload.sealed_key)
    with store.open(ref) as reader:
        return reader.read()


def test_after_a_sigkill_mid_patch_head_is_at_most_8_mib_behind_and_the_upload_resumes(
        gunicorn, auth, store):
    data = os.urandom(40 * MiB)
    server = gunicorn()
    created = requests.post(server.url + "/api/v1/uploads/", timeout=30,
                            headers={**auth, "Upload-Length": str(len(data))})
    assert created.status_code == 201
    path = created.headers["Location"]
    received = 26 * MiB + 12345  # what the witness got through before the deploy
    sock = _send_part(server.url, path, auth, len(data), data[:received])
    time.sleep(1.5)  # the server has read what the kernel delivered
    server.kill()
    sock.close()

    restarted = gunicorn()
    offset = _head(restarted.url, path, auth)
    assert received - CHECKPOINT_BYTES <= offset <= received
    assert offset > 0
    # The killed writer's lease runs out (2 s here, 30 s by default); a client retries 423.
    deadline = time.monotonic() + 30
    while True:
        response = requests.patch(restarted.url + path, data=data[offset:], timeout=120,
                                  headers={**auth, **TUS, "Upload-Offset": str(offset),
                                           "Content-Type": "application/offset+octet-stream"})
        if response.status_code != 423 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == str(len(data))
    assert hashlib.sha256(_stored(store, path)).digest() == hashlib.sha256(data).digest()


def test_a_client_that_vanishes_mid_patch_keeps_everything_that_arrived(gunicorn, auth, store):
    data = os.urandom(12 * MiB)
    server = gunicorn()
    created = requests.post(server.url + "/api/v1/uploads/", timeout=30,
                            headers={**auth, "Upload-Length": str(len(data))})
    path = created.headers["Location"]
    received = 9 * MiB + 777
    sock = _send_part(server.url, path, auth, len(data), data[:received])
    time.sleep(0.5)
    sock.close()  # the network went away
    deadline = time.monotonic() + 20
    while _head(server.url, path, auth) != received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _head(server.url, path, auth) == received
    response = requests.patch(server.url + path, data=data[received:], timeout=60, headers={
        **auth, **TUS, "Upload-Offset": str(received),
        "Content-Type": "application/offset+octet-stream"})
    assert response.status_code == 204
    assert _stored(store, path) == data


def test_a_second_patch_while_the_first_is_still_receiving_is_told_to_wait(
        gunicorn, auth, store):
    data = os.urandom(3 * MiB)
    server = gunicorn()
    created = requests.post(server.url + "/api/v1/uploads/", timeout=30,
                            headers={**auth, "Upload-Length": str(len(data))})
    path = created.headers["Location"]
    sock = _send_part(server.url, path, auth, len(data), data[:MiB])  # still sending
    time.sleep(0.5)
    second = requests.patch(server.url + path, data=data, timeout=30, headers={
        **auth, **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert second.status_code == 423
    sock.sendall(data[MiB:])
    sock.recv(1024)
    sock.close()
    assert _stored(store, path) == data


def test_the_capability_in_the_upload_url_is_needed_to_append(client, auth):
    path = create(client, auth, 10)
    public_id = path.rsplit("/", 1)[-1][:uploads.PUBLIC_ID_LEN]
    assert client.head(f"/api/v1/uploads/{public_id}", headers=auth).status_code == 404
    forged = f"/api/v1/uploads/{public_id}{'0' * 32}"
    assert patch(client, auth, forged, 0, b"12345").status_code == 404
    assert client.head(path, headers=auth).headers["Upload-Offset"] == "0"


def test_the_database_never_holds_the_capability_or_a_plaintext_data_key(client, auth):
    path = create(client, auth, 10)
    patch(client, auth, path, 0, b"12345")
    capability = path.rsplit("/", 1)[-1][uploads.PUBLIC_ID_LEN:]
    upload = get_session().scalars(select(Upload)).one()
    row = repr([getattr(upload, c.key) for c in Upload.__table__.columns])
    assert capability not in row
    assert bytes.fromhex(capability) not in (upload.sealed_state or b"")
    assert upload.format == UploadFormat.STREAM


def test_a_finished_upload_keeps_no_capability_sealed_copy_of_its_data_key(client, auth):
    path = create(client, auth, 5)
    patch(client, auth, path, 0, b"12345")
    upload = get_session().scalars(select(Upload)).one()
    assert upload.state is UploadState.FINISHED
    assert upload.sealed_state is None
    assert upload.backend_state is None


def test_a_segment_upload_in_flight_from_before_the_upgrade_still_finishes(
        client, auth, store, witness):
    """Rows made by the old code (format "segments") keep the old path to the end."""
    session = get_session()
    now = utcnow()
    old = Upload(public_id="ab" * 16, owner_id=witness.id, length=10, offset=0,
                 state=UploadState.RECEIVING, created_at=now,
                 expires_at=now + timedelta(hours=1),
                 format=UploadFormat.SEGMENTS.value)
    session.add(old)
    session.commit()
    path = "/api/v1/uploads/" + "ab" * 16
    assert patch(client, auth, path, 0, b"01234").headers["Upload-Offset"] == "5"
    assert patch(client, auth, path, 5, b"56789").headers["Upload-Offset"] == "10"
    session.expire_all()
    upload = session.scalars(select(Upload)).one()
    assert upload.state is UploadState.FINISHED
    ref = BlobRef(blob_id=upload.blob_id, key_id=upload.key_id, sealed_key=upload.sealed_key)
    with store.open(ref) as reader:
        assert reader.read() == b"0123456789"
