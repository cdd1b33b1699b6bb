"""Bad input that answered 500 (issue 11, item 10): each must be a 4xx naming the field."""

from __future__ import annotations

import pytest

from incidents.models import EvidenceItem, EvidenceKind, Role
from incidents.web.db import get_session
from tests.helpers import gen_token, gen_user, sealed_text
from tests.submissions.helpers import gen_metadata, post_submission

TUS = {"Tus-Resumable": "1.0.0"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("value", ["\u00b2", "\u0663\u0663", "\uff11\uff10", "1\u2070",
                                   "\U0001d7e3"])
def test_unicode_digits_in_upload_length_are_a_400_naming_the_header(client, value):
    token = gen_token(gen_user(Role.CONTRIBUTOR))
    response = client.post("/api/v1/uploads/", headers={**TUS, **bearer(token),
                                                        "Upload-Length": value})
    assert response.status_code == 400
    assert response.get_json()["field"] == "Upload-Length"


@pytest.mark.parametrize("value", ["\u00b2", "\u0660", "\uff10"])
def test_unicode_digits_in_upload_offset_are_a_400_naming_the_header(client, value):
    token = gen_token(gen_user(Role.CONTRIBUTOR))
    created = client.post("/api/v1/uploads/", headers={**TUS, **bearer(token),
                                                       "Upload-Length": "10"})
    assert created.status_code == 201
    response = client.patch(created.headers["Location"], data=b"0123456789", headers={
        **TUS, **bearer(token), "Upload-Offset": value,
        "Content-Type": "application/offset+octet-stream"})
    assert response.status_code == 400
    assert response.get_json()["field"] == "Upload-Offset"


@pytest.mark.parametrize("ids", [[{"id": "x"}], [["a"]], ["ok", {"$gt": ""}], [1, 2]])
def test_objects_inside_evidence_ids_are_a_400_naming_the_field(client, ids):
    token = gen_token(gen_user(Role.REVIEWER))
    response = client.post("/api/v1/bundles", json={"evidence_ids": ids}, headers=bearer(token))
    assert response.status_code == 400
    assert response.get_json()["field"] == "evidence_ids"


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/auth/register"])
def test_100000_deep_json_is_a_400_not_a_500(client, path):
    for opening in ("[", '{"a":'):
        body = opening * 100_000
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code == 400
        assert "nested too deeply" in response.get_json()["message"]


def test_json_of_ordinary_depth_still_works(client):
    gen_user(Role.CONTRIBUTOR, pseudonym="Dana")
    response = client.post("/api/v1/auth/token", json={
        "pseudonym": "Dana", "passphrase": "wrong but shallow 1", "name": "x"})
    assert response.status_code == 401


def test_a_declared_file_name_keeps_only_its_base_name(client):
    token = gen_token(gen_user(Role.CONTRIBUTOR))
    response = post_submission(client, token, gen_metadata(), [
        (b"\x00" * 10, "/home/aliya/DCIM/Camera/IMG_0001.jpg", "image/jpeg"),
        (b"\x01" * 10, "C:\\Users\\Aliya Nurlanovna\\Desktop\\v.mp4", "video/mp4")])
    assert response.status_code == 201, response.get_data(as_text=True)
    names = sorted(sealed_text(client.application, row.name_blob_id)
                   for row in get_session().query(EvidenceItem)
                   if row.kind is EvidenceKind.FILE)
    assert names == ["IMG_0001.jpg", "v.mp4"]
