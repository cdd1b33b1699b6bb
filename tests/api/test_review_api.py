"""The review, incidents, cases, evidence and bundle API, as staff and as everyone else."""

from __future__ import annotations

import hashlib

import pytest

from incidents.models import BlobRecord, CustodyEvent, EvidenceItem, Role
from incidents.services import custody
from incidents.web.db import get_session
from tests.helpers import gen_token, gen_user
from tests.review.fixtures import PHOTO, call, items_of


def test_the_queue_lists_a_new_submission_under_new(client, reviewer, submit):
    sid = submit()
    body = call(client, "GET", "/api/v1/review/queue?status=new", reviewer.token).get_json()
    assert [s["id"] for s in body["submissions"]] == [sid]
    assert body["submissions"][0]["has_media"] is True


def test_the_queue_filters_by_media_and_category(client, reviewer, submit):
    with_photo = submit()
    without = submit(photo=None, categories=["detainee_treatment"], tags=[])
    media = call(client, "GET", "/api/v1/review/queue?has_media=0", reviewer.token).get_json()
    assert [s["id"] for s in media["submissions"]] == [without]
    force = call(client, "GET", "/api/v1/review/queue?category=excessive_force",
                 reviewer.token).get_json()
    assert [s["id"] for s in force["submissions"]] == [with_photo]


def test_the_same_photo_in_two_submissions_shows_as_a_near_duplicate(client, reviewer, submit):
    first, second = submit(), submit()
    submit(photo=None)
    body = call(client, "GET", "/api/v1/review/queue?near_duplicate=1", reviewer.token).get_json()
    assert sorted(s["id"] for s in body["submissions"]) == sorted([first, second])


def test_a_status_change_is_a_custody_event(client, reviewer, submit):
    sid = submit()
    response = call(client, "POST", f"/api/v1/review/submissions/{sid}/status", reviewer.token,
                    {"status": "accepted"})
    assert response.get_json()["queue"] == "accepted"
    events = custody.events_for(get_session(), f"submission:{sid}")
    assert events[-1].action == "status_changed"
    assert events[-1].details == {"from": "received", "to": "accepted"}
    assert events[-1].actor == reviewer.user.public_id


def test_an_assessment_outside_the_scale_is_refused(client, reviewer, submit):
    item = items_of(client, reviewer.token, submit())[0]["id"]
    response = call(client, "POST", f"/api/v1/review/items/{item}/assessments", reviewer.token,
                    {"reliability": "G", "credibility": 2, "reason": "x"})
    assert response.status_code == 400
    response = call(client, "POST", f"/api/v1/review/items/{item}/assessments", reviewer.token,
                    {"reliability": "B", "credibility": 7, "reason": "x"})
    assert response.status_code == 400


def test_an_assessment_is_recorded_with_its_grade(client, reviewer, submit):
    sid = submit()
    item = items_of(client, reviewer.token, sid)[0]["id"]
    response = call(client, "POST", f"/api/v1/review/items/{item}/assessments", reviewer.token,
                    {"reliability": "b", "credibility": 2, "reason": "Matches two others"})
    assert response.status_code == 201
    assert response.get_json()["grade"] == "B2"
    body = call(client, "GET", f"/api/v1/review/submissions/{sid}", reviewer.token).get_json()
    assert [a["grade"] for a in body["assessments"]] == ["B2"]


def test_downloading_an_original_gives_the_exact_bytes_and_a_custody_event_first(
        client, reviewer, submit):
    sid = submit()
    item = next(i for i in items_of(client, reviewer.token, sid) if i["kind"] == "file")["id"]
    response = call(client, "GET", f"/api/v1/evidence/{item}/original", reviewer.token)
    assert response.status_code == 200
    assert hashlib.sha256(response.get_data()).hexdigest() == hashlib.sha256(
        PHOTO.read_bytes()).hexdigest()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="evidence-{item}.jpg"')
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    last = get_session().query(CustodyEvent).order_by(CustodyEvent.seq.desc()).first()
    assert last.action == "downloaded"
    assert last.actor == reviewer.user.public_id


def test_an_integrity_check_passes_on_untouched_evidence(client, reviewer, submit):
    sid = submit()
    item = items_of(client, reviewer.token, sid)[-1]["id"]
    body = call(client, "POST", f"/api/v1/evidence/{item}/integrity", reviewer.token).get_json()
    assert body["ok"] is True
    event = custody.events_for(get_session(), f"evidence:{item}")[-1]
    assert event.action == "integrity_checked"
    assert event.details["ok"] is True


def test_an_integrity_check_fails_when_the_stored_file_was_altered(app, client, reviewer,
                                                                   submit):
    sid = submit()
    item = next(i for i in items_of(client, reviewer.token, sid) if i["kind"] == "file")["id"]
    session = get_session()
    blob_id = session.query(EvidenceItem).filter_by(public_id=item).one().blob_id
    record = session.get(BlobRecord, blob_id)
    path = next(p for p in app.extensions["settings"].blob_dir.rglob(record.id + "*")
                if p.is_file())
    data = bytearray(path.read_bytes())
    data[-40] ^= 1
    path.write_bytes(bytes(data))
    body = call(client, "POST", f"/api/v1/evidence/{item}/integrity", reviewer.token).get_json()
    assert body["ok"] is False
    assert body["problem"]


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR, Role.RESEARCHER])
def test_others_get_403_on_review_case_original_and_bundle_endpoints(app, client, reviewer,
                                                                      submit, role):
    sid = submit()
    item = items_of(client, reviewer.token, sid)[0]["id"]
    case = call(client, "POST", "/api/v1/cases", reviewer.token,
                {"name": "Case A", "kind": "prosecution"}).get_json()["id"]
    token = gen_token(gen_user(role))
    for method, path, body in [
        ("GET", "/api/v1/review/queue", None),
        ("GET", f"/api/v1/review/submissions/{sid}", None),
        ("GET", f"/api/v1/evidence/{item}/original", None),
        ("GET", f"/api/v1/cases/{case}", None),
        ("GET", "/api/v1/review/incidents", None),
        ("POST", "/api/v1/bundles", {"case_id": case}),
        ("POST", "/api/v1/bundles", {"evidence_ids": [item]}),
    ]:
        assert call(client, method, path, token, body).status_code == 403, path


def test_a_reviewer_not_on_a_case_gets_403_on_it_and_on_its_export(client, reviewer, submit):
    sid = submit()
    item = items_of(client, reviewer.token, sid)[0]["id"]
    case = call(client, "POST", "/api/v1/cases", reviewer.token,
                {"name": "Case A", "kind": "un_communication"}).get_json()["id"]
    outsider = gen_token(gen_user(Role.REVIEWER))
    assert call(client, "GET", f"/api/v1/cases/{case}", outsider).status_code == 403
    assert call(client, "POST", "/api/v1/bundles", outsider,
                {"case_id": case}).status_code == 403
    assert call(client, "POST", f"/api/v1/cases/{case}/items", outsider,
                {"items": [item]}).status_code == 403
    listed = call(client, "GET", "/api/v1/cases", outsider).get_json()["cases"]
    assert listed == []


def test_only_admins_manage_case_members(client, reviewer, submit):
    case = call(client, "POST", "/api/v1/cases", reviewer.token,
                {"name": "Case A", "kind": "other"}).get_json()["id"]
    colleague = gen_user(Role.REVIEWER)
    assert call(client, "POST", f"/api/v1/cases/{case}/members", reviewer.token,
                {"add": [colleague.pseudonym]}).status_code == 403
    admin = gen_token(gen_user(Role.ADMIN))
    body = call(client, "POST", f"/api/v1/cases/{case}/members", admin,
                {"add": [colleague.pseudonym]}).get_json()
    assert colleague.pseudonym in body["members"]
    assert call(client, "GET", f"/api/v1/cases/{case}", gen_token(colleague)).status_code == 200


def test_assigning_to_a_pseudonym_as_typed_finds_the_reviewer(client, reviewer, submit):
    """"Assign to Alice" reaches the reviewer registered as `alice` (the normalised key)."""
    alice = gen_user(Role.REVIEWER, pseudonym="alice")
    sid = submit()
    response = call(client, "POST", f"/api/v1/review/submissions/{sid}/assign", reviewer.token,
                    {"reviewer": "Alice"})
    assert response.status_code == 200, response.get_json()
    events = custody.events_for(get_session(), f"submission:{sid}")
    assert events[-1].action == "assigned"
    assert events[-1].details == {"reviewer": alice.public_id}


def test_a_case_member_named_in_other_letters_case_is_added(client, reviewer):
    alice = gen_user(Role.REVIEWER, pseudonym="alice")
    case = call(client, "POST", "/api/v1/cases", reviewer.token,
                {"name": "Case A", "kind": "other"}).get_json()["id"]
    admin = gen_token(gen_user(Role.ADMIN))
    body = call(client, "POST", f"/api/v1/cases/{case}/members", admin,
                {"add": ["ALICE"]}).get_json()
    assert "alice" in body["members"]
    assert call(client, "GET", f"/api/v1/cases/{case}", gen_token(alice)).status_code == 200
