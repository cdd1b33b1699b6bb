"""A request that fails leaves nothing half-saved: each use case is one unit of work.

Every test makes a change whose first part succeeds and whose later part is refused, the
way a careless or hostile client would send it, then checks that the first part is gone
too (rows, custody events, and for the submission the encrypted blob on disk).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask, Response
from flask.testing import FlaskClient

from incidents.core.errors import InvalidInput
from incidents.core.vocabulary import Role
from incidents.models import BlobRecord, CustodyEvent, Incident, Submission
from incidents.services import incidents
from incidents.web.db import get_session
from tests.helpers import PASSPHRASE, gen_invitation, gen_token, gen_user
from tests.review.fixtures import Actor, call, items_of
from tests.submissions.helpers import blob_files, gen_metadata, post_submission


def _events(subject: str) -> list[str]:
    session = get_session()
    session.rollback()
    return list(session.scalars(sa.select(CustodyEvent.action)
                                .where(CustodyEvent.subject == subject)
                                .order_by(CustodyEvent.seq)))


def _new_case(client: FlaskClient, reviewer: Actor) -> str:
    response = call(client, "POST", "/api/v1/cases", reviewer.token,
                    {"name": "Case A", "kind": "other"})
    assert response.status_code == 201
    return str(response.get_json()["id"])


def test_case_members_adds_nobody_when_one_name_is_unknown(client: FlaskClient,
                                                          reviewer: Actor) -> None:
    case = _new_case(client, reviewer)
    colleague = gen_user(Role.REVIEWER)
    admin = gen_token(gen_user(Role.ADMIN))
    response = call(client, "POST", f"/api/v1/cases/{case}/members", admin,
                    {"add": [colleague.pseudonym, "nobody-by-this-name"]})
    assert response.status_code == 400
    assert response.get_json()["field"] == "member"
    members = call(client, "GET", f"/api/v1/cases/{case}", reviewer.token).get_json()["members"]
    assert colleague.pseudonym not in members
    assert call(client, "GET", f"/api/v1/cases/{case}", gen_token(colleague)).status_code == 403
    assert "case_member_added" not in _events(f"case:{case}")


def test_case_members_removes_nobody_when_an_added_name_is_unknown(
        client: FlaskClient, reviewer: Actor) -> None:
    case = _new_case(client, reviewer)
    admin = gen_token(gen_user(Role.ADMIN))
    response = call(client, "POST", f"/api/v1/cases/{case}/members", admin,
                    {"remove": [reviewer.user.pseudonym], "add": ["nobody-by-this-name"]})
    assert response.status_code == 400
    assert call(client, "GET", f"/api/v1/cases/{case}", reviewer.token).status_code == 200


def test_case_items_links_none_when_one_id_is_unknown(client: FlaskClient, reviewer: Actor,
                                                      submit: object) -> None:
    item = items_of(client, reviewer.token, submit())[0]["id"]  # type: ignore[operator]
    case = _new_case(client, reviewer)
    response = call(client, "POST", f"/api/v1/cases/{case}/items", reviewer.token,
                    {"items": [item, "0000000000000000"]})
    assert response.status_code == 400
    assert response.get_json()["field"] == "items"
    body = call(client, "GET", f"/api/v1/cases/{case}", reviewer.token).get_json()
    assert body["items"] == []
    assert "case_linked" not in _events(f"case:{case}")


def test_a_refused_registration_leaves_the_invitation_usable(client: FlaskClient) -> None:
    taken = gen_user(Role.CONTRIBUTOR)
    invitation = gen_invitation(Role.CONTRIBUTOR)
    refused = client.post("/api/v1/auth/register", json={
        "invitation": invitation, "pseudonym": taken.pseudonym, "passphrase": PASSPHRASE})
    assert refused.status_code == 409  # refused after the invitation was claimed
    accepted = client.post("/api/v1/auth/register", json={
        "invitation": invitation, "pseudonym": "second-try", "passphrase": PASSPHRASE})
    assert accepted.status_code == 201, accepted.get_json()


def test_a_submission_refused_after_its_file_streamed_keeps_no_row_and_no_blob(
        app: Flask, client: FlaskClient, witness: Actor, queued: list[str]) -> None:
    session = get_session()
    before = (session.scalar(sa.select(sa.func.count()).select_from(Submission)),
              session.scalar(sa.select(sa.func.count()).select_from(BlobRecord)))
    response: Response = post_submission(
        client, witness.token, gen_metadata(uploads=["0" * 32]),
        [(b"\xff\xd8\xff\xe0" + b"photo bytes " * 100, "photo.jpg", "image/jpeg")])
    assert response.status_code == 404  # the upload id names no finished upload
    assert response.get_json()["error"] == "not_found"
    session.rollback()
    assert (session.scalar(sa.select(sa.func.count()).select_from(Submission)),
            session.scalar(sa.select(sa.func.count()).select_from(BlobRecord))) == before
    assert blob_files(app) == []
    assert queued == []


def test_linking_an_incident_keeps_nothing_when_a_later_id_is_unknown(
        app: Flask, client: FlaskClient, reviewer: Actor, submit: object) -> None:
    sid = submit()  # type: ignore[operator]
    session = get_session()
    incident = incidents.create(session, app.extensions["blobstore"], reviewer.user,
                                incidents.parse_input({"title": "X"}))
    with pytest.raises(InvalidInput) as refused:
        incidents.link(session, reviewer.user, incident.public_id, submission_ids=[sid],
                       item_ids=["0000000000000000"])
    assert refused.value.field == "items"
    session.expire_all()
    reloaded = session.scalar(sa.select(Incident).where(Incident.public_id == incident.public_id))
    assert reloaded is not None
    assert reloaded.submissions == []
    assert "incident_linked" not in _events(incident.subject)
