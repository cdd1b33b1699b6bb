"""The reviewer's pages: queue, submission (testimony, metadata, mismatches), previews."""

from __future__ import annotations

import re

from incidents.models import CustodyEvent
from incidents.web.db import get_session
from tests.helpers import login
from tests.review.fixtures import call, items_of
from tests.web.conftest import form_token, fresh_g


def sign_in(client, actor):
    fresh_g()
    login(client, actor.user)
    fresh_g()


def test_the_queue_page_links_to_the_submission(client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    page = client.get("/review/?status=new").get_data(as_text=True)
    assert f"/review/submissions/{sid}" in page


def test_the_submission_page_shows_testimony_and_flags_time_and_place_mismatches(
        client, reviewer, submit):
    sid = submit()  # an Italian photo from 2008, said to be from Almaty in January 2022
    sign_in(client, reviewer)
    response = client.get(f"/review/submissions/{sid}")
    page = response.get_data(as_text=True)
    assert "Soldiers fired on the crowd" in page
    assert "differs from the stated time" in page
    assert "far from the stated place" in page
    assert "NIKON" in page.upper()


def test_viewing_the_submission_page_is_recorded_as_views_by_the_reviewer(client, reviewer,
                                                                         submit):
    sid = submit()
    before = get_session().query(CustodyEvent).count()
    sign_in(client, reviewer)
    client.get(f"/review/submissions/{sid}")
    views = get_session().query(CustodyEvent).filter(CustodyEvent.seq >= before,
                                                     CustodyEvent.action == "viewed").all()
    assert views
    assert {v.actor for v in views} == {reviewer.user.public_id}


def test_a_preview_is_served_decrypted_and_never_cached(client, reviewer, submit):
    sid = submit()
    item = next(i for i in items_of(client, reviewer.token, sid) if i["kind"] == "file")["id"]
    sign_in(client, reviewer)
    response = client.get(f"/review/items/{item}/preview/preview")
    assert response.status_code == 200
    assert response.get_data()[:3] == b"\xff\xd8\xff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_a_contributor_gets_403_on_the_review_pages(client, witness, submit):
    sid = submit()
    sign_in(client, witness)
    assert client.get("/review/").status_code == 403
    assert client.get(f"/review/submissions/{sid}").status_code == 403
    assert client.get("/cases/").status_code == 403


def test_a_reviewer_builds_an_incident_from_the_page_form(client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    form = client.get(f"/incidents/new?submission={sid}").get_data(as_text=True)
    assert sid in form
    token = form_token(client, f"/incidents/new?submission={sid}")
    response = client.post("/incidents/", data={
        "csrf_token": token, "submissions": sid, "title": "Akimat", "place": "almaty",
        "location_precision": "town", "time_precision": "approximate",
        "start_date": "2022-01-05", "start_time": "12:00", "verification": "reported",
        "categories": "excessive_force"})
    assert response.status_code == 302
    match = re.search(r"/incidents/(INC-[A-Z0-9]+)", response.headers["Location"])
    assert match
    fresh_g()
    page = client.get(f"/incidents/{match.group(1)}").get_data(as_text=True)
    assert "Akimat" in page
    body = call(client, "GET", f"/api/v1/review/incidents/{match.group(1)}",
                reviewer.token).get_json()
    assert body["submissions"] == [sid]
    assert body["start_utc"] == "2022-01-05T06:00:00Z"  # 12:00 in Almaty, UTC+6 in 2022


def test_the_submission_page_in_russian_names_statuses_consent_and_custody_in_russian(
        client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    client.get("/language/ru")
    fresh_g()
    page = client.get(f"/review/submissions/{sid}").get_data(as_text=True)
    assert "<dd>Получено</dd>" in page  # the status, not "received"
    assert "судебные разбирательства:" in page  # the consent question, not "legal:"
    assert "сохранено в хранилище доказательств" in page  # the custody action, not "stored"
    assert not re.search(r"</code> \S+ (received|stored|viewed) ", page)
