"""Inputs schemathesis found answering 500 now answer 400 naming the field, as a client sees."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.review.fixtures import Actor

TUS = {"Tus-Resumable": "1.0.0"}


def _bearer(actor: Actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {actor.token}"}


@pytest.mark.parametrize("length", ["²", "١٢", "1²"])
def test_a_non_ascii_digit_in_upload_length_is_a_400_naming_the_header(
        client: FlaskClient, witness: Actor, length: str) -> None:
    response = client.post("/api/v1/uploads/", headers={
        **_bearer(witness), **TUS, "Upload-Length": length})
    assert response.status_code == 400
    assert response.get_json()["field"] == "Upload-Length"


def test_a_non_ascii_digit_in_upload_offset_is_a_400_naming_the_header(
        client: FlaskClient, witness: Actor) -> None:
    created = client.post("/api/v1/uploads/", headers={
        **_bearer(witness), **TUS, "Upload-Length": "3"})
    assert created.status_code == 201
    response = client.patch(created.headers["Location"], data=b"abc", headers={
        **_bearer(witness), **TUS, "Upload-Offset": "³",
        "Content-Type": "application/offset+octet-stream"})
    assert response.status_code == 400
    assert response.get_json()["field"] == "Upload-Offset"


@pytest.mark.parametrize("ids", [[{"id": "x"}], [["x"]], [None], "abc", {"a": 1}])
def test_anything_but_strings_in_evidence_ids_is_a_400_naming_the_field(
        client: FlaskClient, reviewer: Actor, ids: object) -> None:
    response = client.post("/api/v1/bundles", json={"evidence_ids": ids},
                           headers=_bearer(reviewer))
    assert response.status_code == 400
    assert response.get_json()["field"] == "evidence_ids"


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/bundles", "/api/v1/cases"])
def test_json_nested_past_the_parser_is_a_400(client: FlaskClient, reviewer: Actor,
                                             path: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(path, data=deep, content_type="application/json",
                           headers=_bearer(reviewer))
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


def test_a_deep_list_inside_a_field_is_a_400_naming_it(client: FlaskClient,
                                                      reviewer: Actor) -> None:
    deep = '{"evidence_ids": ' + "[" * 500 + "]" * 500 + "}"
    response = client.post("/api/v1/bundles", data=deep, content_type="application/json",
                           headers=_bearer(reviewer))
    assert response.status_code == 400
    assert response.get_json()["field"] == "evidence_ids"


def test_a_field_of_the_wrong_type_is_named_with_a_translated_message(
        client: FlaskClient, reviewer: Actor) -> None:
    response = client.post("/api/v1/cases", json={"name": 5, "kind": "other"},
                           headers={**_bearer(reviewer), "Accept-Language": "ru"})
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "name"
    assert body["error"] == "bad_request"
    assert "Give the case a name" not in body["message"]  # Russian, not the English source


def test_unknown_fields_are_ignored_as_before(client: FlaskClient, reviewer: Actor) -> None:
    response = client.post("/api/v1/cases", json={"name": "Almaty", "kind": "other",
                                                  "id": "chosen", "members": ["x"]},
                           headers=_bearer(reviewer))
    assert response.status_code == 201
    assert response.get_json()["id"] != "chosen"
