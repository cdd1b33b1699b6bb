"""The tus 1.0.0 protocol at /api/v1/uploads/, spoken by hand through the test client."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from incidents.core.clock import utcnow
from incidents.models import Upload, UploadSegment
from incidents.services import uploads
from incidents.services.uploads import PendingName
from incidents.web.db import get_session
from storage.blobstore import BlobRef
from tests.helpers import gen_token, gen_user, login
from tests.uploads.conftest import (
    TUS,
    blob_files,
    create,
    fresh_g,
    metadata,
    patch,
    upload_files,
)


def _body(n: int) -> bytes:
    return os.urandom(n)


def test_options_advertises_version_extensions_size_limit_and_checksum(client, settings):
    response = client.options("/api/v1/uploads/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation", "creation-with-upload", "termination", "expiration", "checksum"}
    assert response.headers["Tus-Max-Size"] == str(settings.max_upload_bytes)
    assert response.headers["Tus-Checksum-Algorithm"] == "sha256"


def test_a_request_without_tus_resumable_is_refused_with_412(client, auth):
    headers = {k: v for k, v in auth.items() if k != "Tus-Resumable"}
    response = client.post("/api/v1/uploads/", headers={**headers, "Upload-Length": "5"})
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"


def test_creating_an_upload_without_signing_in_is_refused(client):
    response = client.post("/api/v1/uploads/", headers={**TUS, "Upload-Length": "5"})
    assert response.status_code == 401


def test_creation_answers_201_with_location_offset_and_expiry(client, auth):
    response = client.post("/api/v1/uploads/", headers={**auth, "Upload-Length": "10"})
    assert response.status_code == 201
    assert response.headers["Location"].startswith("/api/v1/uploads/")
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Upload-Offset"] == "0"
    assert response.headers["Upload-Expires"].endswith("GMT")


def test_head_reports_offset_and_length_and_is_not_cached(client, auth):
    path = create(client, auth, 10)
    response = client.head(path, headers=auth)
    assert response.status_code == 200
    assert response.headers["Upload-Offset"] == "0"
    assert response.headers["Upload-Length"] == "10"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_file_sent_in_three_patches_is_stored_whole_and_only_encrypted(
        client, auth, witness, store, instance_path):
    data = _body(3 * 100_000 + 17)
    path = create(client, auth, len(data), filename="photo.jpg", filetype="image/jpeg")
    offset = 0
    for piece in (data[:100_000], data[100_000:250_000], data[250_000:]):
        response = patch(client, auth, path, offset, piece)
        assert response.status_code == 204, response.get_data(as_text=True)
        offset = int(response.headers["Upload-Offset"])
    assert offset == len(data)
    upload = get_session().scalars(select(Upload)).one()
    assert upload.state.value == "finished"
    assert get_session().scalars(select(UploadSegment)).all() == []
    # The segments are gone; the other blob is the declared name, sealed.
    assert upload.pending_name is not None
    assert blob_files(instance_path) == {upload.blob_id, upload.pending_name["blob_id"]}
    with store.open(_ref(upload)) as reader:
        assert reader.read() == data
    for file in instance_path.rglob("*"):
        if file.is_file():
            assert data[1000:1064] not in file.read_bytes()
            assert b"photo.jpg" not in file.read_bytes()


def _ref(upload: Upload) -> BlobRef:
    return BlobRef(blob_id=upload.blob_id, key_id=upload.key_id, sealed_key=upload.sealed_key)


def test_a_patch_at_the_wrong_offset_is_refused_with_409(client, auth):
    path = create(client, auth, 10)
    assert patch(client, auth, path, 0, b"12345").status_code == 204
    response = patch(client, auth, path, 3, b"45678")
    assert response.status_code == 409
    assert client.head(path, headers=auth).headers["Upload-Offset"] == "5"


def test_a_patch_with_another_content_type_is_refused_with_415(client, auth):
    path = create(client, auth, 10)
    response = client.patch(path, data=b"12345", headers={
        **auth, "Upload-Offset": "0", "Content-Type": "application/octet-stream"})
    assert response.status_code == 415


def test_a_declared_length_over_the_limit_is_refused_with_413_and_nothing_kept(
        app_with, settings):
    app = app_with(max_upload_bytes=1000)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {gen_token(gen_user())}", **TUS}
    response = client.post("/api/v1/uploads/", headers={**headers, "Upload-Length": "1001"})
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    assert get_session().scalars(select(Upload)).all() == []


def test_more_bytes_than_declared_is_refused_with_413_and_the_upload_removed(
        client, auth, instance_path):
    path = create(client, auth, 10)
    assert patch(client, auth, path, 0, b"12345").status_code == 204
    response = patch(client, auth, path, 5, b"6789012345")
    assert response.status_code == 413
    assert client.head(path, headers=auth).status_code == 404
    assert blob_files(instance_path) == set()


def test_another_witness_cannot_see_patch_or_delete_an_upload(client, auth, other_auth):
    path = create(client, auth, 10)
    fresh_g()  # a new request, a new identity (the fixture keeps one app context)
    assert client.head(path, headers=other_auth).status_code == 404
    assert patch(client, other_auth, path, 0, b"12345").status_code == 404
    assert client.delete(path, headers=other_auth).status_code == 404
    fresh_g()
    assert client.head(path, headers=auth).headers["Upload-Offset"] == "0"


def test_an_unknown_upload_is_404(client, auth):
    assert client.head("/api/v1/uploads/" + "0" * 32, headers=auth).status_code == 404


def test_termination_removes_the_upload_and_its_bytes(client, auth, instance_path):
    path = create(client, auth, 10)
    patch(client, auth, path, 0, b"12345")
    assert upload_files(instance_path)
    assert client.delete(path, headers=auth).status_code == 204
    assert client.head(path, headers=auth).status_code == 404
    assert blob_files(instance_path) == set()
    assert upload_files(instance_path) == set()


def test_a_matching_sha256_checksum_is_accepted(client, auth):
    path = create(client, auth, 5)
    digest = base64.b64encode(hashlib.sha256(b"12345").digest()).decode()
    response = patch(client, auth, path, 0, b"12345", **{"Upload-Checksum": f"sha256 {digest}"})
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "5"


def test_a_wrong_checksum_is_refused_with_460_and_nothing_of_the_body_kept(
        client, auth, instance_path):
    path = create(client, auth, 5)
    digest = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = patch(client, auth, path, 0, b"12345", **{"Upload-Checksum": f"sha256 {digest}"})
    assert response.status_code == 460
    assert client.head(path, headers=auth).headers["Upload-Offset"] == "0"
    assert blob_files(instance_path) == set()


def test_an_unsupported_checksum_algorithm_is_a_400(client, auth):
    path = create(client, auth, 5)
    response = patch(client, auth, path, 0, b"12345", **{"Upload-Checksum": "md5 AAAA"})
    assert response.status_code == 400


def test_creation_with_upload_stores_the_first_bytes(client, auth):
    response = client.post("/api/v1/uploads/", data=b"hello", headers={
        **auth, "Upload-Length": "11", "Content-Type": "application/offset+octet-stream"})
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "5"
    path = response.headers["Location"]
    assert patch(client, auth, path, 5, b" world").headers["Upload-Offset"] == "11"


def test_a_zero_byte_upload_is_finished_at_creation(client, auth):
    response = client.post("/api/v1/uploads/", headers={**auth, "Upload-Length": "0"})
    assert response.status_code == 201
    upload = get_session().scalars(select(Upload)).one()
    assert upload.state.value == "finished"


def test_an_expired_upload_is_gone_and_swept_with_its_bytes(client, auth, store, instance_path):
    path = create(client, auth, 10)
    patch(client, auth, path, 0, b"12345")
    session = get_session()
    upload = session.scalars(select(Upload)).one()
    upload.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert client.head(path, headers=auth).status_code == 404
    assert uploads.sweep(session, store) == 1
    assert session.scalars(select(Upload)).all() == []
    assert blob_files(instance_path) == set()


def test_the_sweep_command_removes_expired_uploads(client, auth, runner, instance_path):
    path = create(client, auth, 10)
    patch(client, auth, path, 0, b"12345")
    session = get_session()
    session.scalars(select(Upload)).one().expires_at = utcnow() - timedelta(hours=1)
    session.commit()
    result = runner.invoke(args=["uploads", "sweep"])
    assert result.exit_code == 0, result.output
    assert "removed 1" in result.output
    assert blob_files(instance_path) == set()


@pytest.mark.parametrize(("declared", "kept"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\photo.jpg", "photo.jpg"),
    ("evil\u202egpj.exe", "evilgpj.exe"),
    ("a\x00b\r\nc.jpg", "abc.jpg"),
    ("ж" * 1000, "ж" * 255),
], ids=["dotdot", "windows", "rtl-override", "control", "long-unicode"])
def test_declared_file_names_are_kept_only_as_cleaned_capped_text(client, auth, declared, kept):
    create(client, auth, 10, filename=declared, filetype="image/jpeg")
    upload = get_session().scalars(select(Upload)).one()
    assert upload.pending_name is not None
    stored = PendingName.of(upload.pending_name)
    with client.application.extensions["blobstore"].open(stored) as reader:
        assert json.loads(reader.read()) == {"text": kept}


def test_a_declared_type_that_is_not_a_media_type_is_dropped(client, auth):
    create(client, auth, 10, filetype="<script>")
    assert get_session().scalars(select(Upload)).one().filetype == ""


def test_metadata_that_is_not_base64_is_a_400(client, auth):
    response = client.post("/api/v1/uploads/", headers={
        **auth, "Upload-Length": "10", "Upload-Metadata": "filename ***"})
    assert response.status_code == 400


def test_a_huge_metadata_header_is_a_400(client, auth):
    response = client.post("/api/v1/uploads/", headers={
        **auth, "Upload-Length": "10", "Upload-Metadata": metadata(filename="x" * 6000)})
    assert response.status_code == 400


def test_cookie_session_requests_need_the_csrf_token(client, witness):
    login(client, witness)
    response = client.post("/api/v1/uploads/", headers={**TUS, "Upload-Length": "10"})
    assert response.status_code == 400


def test_creating_an_upload_also_sweeps_expired_ones(client, auth, instance_path):
    path = create(client, auth, 10)
    patch(client, auth, path, 0, b"12345")
    session = get_session()
    session.scalars(select(Upload)).one().expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    create(client, auth, 10)
    assert len(session.scalars(select(Upload)).all()) == 1
    assert blob_files(instance_path) == set()


def test_an_upload_whose_finishing_process_died_is_finished_by_the_next_head(
        client, auth, store, monkeypatch):
    data = _body(70_000)
    path = create(client, auth, len(data))
    with monkeypatch.context() as m:
        # The process dies here, between the last byte and the finish.
        m.setattr(uploads.receive, "_finish_stream", lambda *_a, **_k: None)
        assert patch(client, auth, path, 0, data).status_code == 204
    assert get_session().scalars(select(Upload)).one().state.value == "receiving"
    response = client.head(path, headers=auth)
    assert response.headers["Upload-Offset"] == str(len(data))
    upload = get_session().scalars(select(Upload)).one()
    assert upload.state.value == "finished"
    with store.open(_ref(upload)) as reader:
        assert reader.read() == data
