"""POST/GET /api/v1/submissions (DESIGN §8): create, validation, access, limits."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import CustodyEvent, EvidenceItem, Role, Submission, User
from incidents.web.db import get_session
from tests.helpers import gen_token, gen_user
from tests.submissions.helpers import (
    api_get,
    api_post,
    blob_files,
    gen_metadata,
    post_submission,
)


@pytest.fixture
def witness(app: Flask) -> User:
    return gen_user(Role.CONTRIBUTOR)


@pytest.fixture
def witness_token(witness: User) -> str:
    return gen_token(witness)


@pytest.fixture(autouse=True)
def queued(app: Flask) -> list[str]:
    """Record media jobs instead of running them (tests/media covers processing)."""
    seen: list[str] = []
    app.extensions["media_queue"] = seen.extend
    return seen


JPEG = b"\xff\xd8\xff\xe0" + b"photo bytes " * 100


def _counts() -> tuple[int, int, int]:
    session = get_session()
    session.rollback()
    return (session.scalar(sa.select(sa.func.count()).select_from(Submission)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(EvidenceItem)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(CustodyEvent)) or 0)


def test_a_witness_creates_a_submission_with_testimony_and_a_file(
        client: FlaskClient, witness_token: str, queued: list[str]) -> None:
    response = post_submission(client, witness_token, gen_metadata(),
                               [(JPEG, "photo.jpg", "image/jpeg")])
    assert response.status_code == 201, response.get_json()
    public_id = response.get_json()["id"]
    shown = api_get(client, f"/api/v1/submissions/{public_id}", witness_token)
    body = shown.get_json()
    assert body["status"] == "received"
    assert [i["kind"] for i in body["items"]] == ["testimony", "file"]
    assert body["items"][1]["name"] == "photo.jpg"
    assert body["items"][1]["size"] == len(JPEG)
    assert body["place"] == "almaty"
    assert body["region"] == "almaty_city"
    assert body["occurred_at"] == "2022-01-04T18:00:00Z"  # midnight in Almaty (UTC+6)
    assert queued == [body["items"][1]["id"]]  # the file, after the commit


def test_a_place_name_in_russian_or_kazakh_is_resolved(client: FlaskClient,
                                                       witness_token: str) -> None:
    for name in ("Жанаозен", "Жаңаөзен", "zhanaozen"):
        response = post_submission(client, witness_token, gen_metadata(place=name))
        public_id = response.get_json()["id"]
        body = api_get(client, f"/api/v1/submissions/{public_id}", witness_token)
        assert body.get_json()["place"] == "zhanaozen"


def test_prefer_not_to_say_keeps_no_place(client: FlaskClient, witness_token: str) -> None:
    response = post_submission(client, witness_token, gen_metadata(place="prefer_not_to_say"))
    public_id = response.get_json()["id"]
    body = api_get(client, f"/api/v1/submissions/{public_id}", witness_token).get_json()
    assert body["place"] == "prefer_not_to_say"
    assert body["region"] is None


@pytest.mark.parametrize(("override", "field"), [
    ({"categories": ["riots"]}, "categories"),
    ({"tags": ["looting"]}, "tags"),
    ({"occurred_at": "5 January"}, "occurred_at"),
    ({"occurred_at": "2022-13-40"}, "occurred_at"),
    ({"time_precision": "roughly"}, "time_precision"),
    ({"consent": {"legal": True, "research": True, "publication": True}}, "consent.contact"),
    ({"consent": {"legal": "yes", "research": True, "publication": True, "contact": True}},
     "consent.legal"),
    ({"consent": None}, "consent"),
    ({"testimony": 42}, "testimony"),
    ({"counts": {"injured": -1}}, "counts.injured"),
    ({"counts": {"killed": "two"}}, "counts.killed"),
    ({"point": [91, 10]}, "point"),
    ({"point": [43.2, "east"]}, "point"),
    ({"point": [43.2]}, "point"),
    ({"place": "Gotham"}, "place"),
    ({"place": 7}, "place"),
    ({"categories": "excessive_force"}, "categories"),
    ({"uploads": "abc"}, "uploads"),
])
def test_bad_metadata_is_refused_naming_the_field_and_nothing_is_stored(
        app: Flask, client: FlaskClient, witness_token: str, override: dict[str, object],
        field: str) -> None:
    before = _counts()
    response = post_submission(client, witness_token, gen_metadata(**override),
                               [(JPEG, "photo.jpg", "image/jpeg")])
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert _counts() == before
    assert blob_files(app) == []


def test_metadata_that_is_not_json_is_refused(client: FlaskClient, witness_token: str) -> None:
    response = post_submission(client, witness_token, "{not json")
    assert response.status_code == 400
    assert response.get_json()["field"] == "metadata"


def test_metadata_sent_after_the_files_is_still_checked_and_nothing_kept(
        app: Flask, client: FlaskClient, witness_token: str) -> None:
    response = api_post(client, "/api/v1/submissions", witness_token,
                        {"files": [(io.BytesIO(JPEG), "a.jpg", "image/jpeg")],
                         "metadata": '{"time_precision": "sometime"}'})
    assert response.status_code == 400
    assert response.get_json()["field"] == "time_precision"
    assert blob_files(app) == []


def test_role_owner_and_status_slipped_into_metadata_are_ignored(
        client: FlaskClient, witness: User, witness_token: str) -> None:
    other = gen_user(Role.CONTRIBUTOR)
    response = post_submission(client, witness_token, gen_metadata(
        role="admin", owner_id=other.id, status="accepted", id="x" * 32))
    public_id = response.get_json()["id"]
    row = get_session().scalar(sa.select(Submission).where(Submission.public_id == public_id))
    assert row is not None
    assert row.owner_id == witness.id
    assert row.status.value == "received"
    assert public_id != "x" * 32


def test_a_witness_lists_only_their_own_submissions(client: FlaskClient,
                                                    witness_token: str) -> None:
    mine = post_submission(client, witness_token, gen_metadata()).get_json()["id"]
    other_token = gen_token(gen_user(Role.CONTRIBUTOR))
    post_submission(client, other_token, gen_metadata())
    listed = api_get(client, "/api/v1/submissions", witness_token).get_json()
    assert [s["id"] for s in listed["submissions"]] == [mine]


@pytest.mark.parametrize("suffix", ["", "/receipt"])
def test_another_witnesss_submission_looks_like_nothing_at_all(
        client: FlaskClient, witness_token: str, suffix: str) -> None:
    posted = post_submission(client, gen_token(gen_user(Role.CONTRIBUTOR)), gen_metadata())
    assert posted.status_code == 201, posted.get_json()
    theirs = posted.get_json()["id"]
    response = api_get(client, f"/api/v1/submissions/{theirs}{suffix}", witness_token)
    missing = api_get(client, f"/api/v1/submissions/{'0' * 32}{suffix}", witness_token)
    assert response.status_code == missing.status_code == 404
    assert response.get_json() == missing.get_json()


def test_a_reviewer_sees_every_submission(client: FlaskClient, witness_token: str) -> None:
    public_id = post_submission(client, witness_token, gen_metadata()).get_json()["id"]
    reviewer_token = gen_token(gen_user(Role.REVIEWER))
    listed = api_get(client, "/api/v1/submissions", reviewer_token).get_json()
    assert public_id in [s["id"] for s in listed["submissions"]]
    assert api_get(client, f"/api/v1/submissions/{public_id}", reviewer_token).status_code == 200


def test_the_same_file_from_two_witnesses_makes_two_independent_items(
        client: FlaskClient, witness_token: str) -> None:
    other_token = gen_token(gen_user(Role.CONTRIBUTOR))
    first = post_submission(client, witness_token, gen_metadata(),
                            [(JPEG, "a.jpg", "image/jpeg")])
    second = post_submission(client, other_token, gen_metadata(),
                             [(JPEG, "a.jpg", "image/jpeg")])
    assert first.status_code == second.status_code == 201
    assert first.get_json().keys() == second.get_json().keys() == {"id"}
    items = list(get_session().scalars(sa.select(EvidenceItem)))
    files = [i for i in items if i.kind.value == "file"]
    assert len(files) == 2
    assert files[0].blob_id != files[1].blob_id


def test_a_witness_adds_files_to_their_own_submission_later(
        client: FlaskClient, witness_token: str) -> None:
    public_id = post_submission(client, witness_token, gen_metadata()).get_json()["id"]
    response = api_post(client, f"/api/v1/submissions/{public_id}/files", witness_token,
                        {"files": [(io.BytesIO(b"%PDF-1.4 doc"), "doc.pdf",
                                    "application/pdf")]})
    assert response.status_code == 201
    body = api_get(client, f"/api/v1/submissions/{public_id}", witness_token)
    assert [i["name"] for i in body.get_json()["items"]] == ["testimony.txt", "doc.pdf"]


def test_nobody_else_can_add_files_to_a_submission(app: Flask, client: FlaskClient,
                                                   witness_token: str) -> None:
    public_id = post_submission(client, witness_token, gen_metadata()).get_json()["id"]
    before = _counts()
    for role in (Role.CONTRIBUTOR, Role.REVIEWER):
        response = api_post(client, f"/api/v1/submissions/{public_id}/files",
                            gen_token(gen_user(role)),
                            {"files": [(io.BytesIO(b"x"), "x.pdf", "application/pdf")]})
        assert response.status_code == 404
    assert _counts()[:2] == before[:2]


def test_a_submission_needs_testimony_or_a_file(client: FlaskClient,
                                                witness_token: str) -> None:
    response = post_submission(client, witness_token, gen_metadata(testimony="  "))
    assert response.status_code == 400
    assert response.get_json()["field"] == "testimony"


def test_openapi_describes_the_submission_endpoints(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"post", "get"} <= paths["/api/v1/submissions"].keys()
    assert "/api/v1/submissions/{public_id}/receipt" in paths
