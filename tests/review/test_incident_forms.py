"""The incident and case forms over real HTTP: errors beside their fields with the form kept
(400, nothing stored), Almaty's clock stored as UTC, pickers, publishing from a preview."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from incidents.models import Case, CustodyEvent, Incident
from incidents.web.db import get_session
from tests.review.fixtures import call
from tests.review.test_pages import sign_in
from tests.web.conftest import form_token, fresh_g


def _counts() -> tuple[int, int]:
    session = get_session()
    return (session.scalar(select(func.count()).select_from(Incident)) or 0,
            session.scalar(select(func.count()).select_from(CustodyEvent)) or 0)


def _create(client, sid: str, **fields: str):  # noqa: ANN202
    token = form_token(client, "/incidents/new")
    data = {"csrf_token": token, "submissions": sid, "title": "Akimat square",
            "description": "Shots at the akimat.", "place": "almaty",
            "location_precision": "town", "time_precision": "exact",
            "start_date": "2022-01-05", "start_time": "14:20", "verification": "reported",
            "categories": "excessive_force", "action": "save"}
    data.update(fields)
    return client.post("/incidents/", data=data)


def _incident_id(response) -> str:  # noqa: ANN001
    match = re.search(r"/incidents/(INC-[A-Z0-9]+)", response.headers["Location"])
    assert match
    return match.group(1)


def test_the_new_incident_form_lists_reports_to_tick_not_an_id_box(client, reviewer, submit):
    sid = submit(place="zhanaozen", occurred_at="2022-01-04")
    sign_in(client, reviewer)
    page = client.get("/incidents/new").get_data(as_text=True)
    assert f'type="checkbox" name="submissions" value="{sid}"' in page
    assert "Zhanaozen" in page
    assert "4 January 2022" in page
    assert 'placeholder="submission ids"' not in page


def test_the_picker_filters_on_the_server_and_keeps_what_was_ticked_and_typed(
        client, reviewer, submit):
    almaty = submit(place="almaty", occurred_at="2022-01-05")
    aktau = submit(place="aktau", occurred_at="2022-01-04")
    sign_in(client, reviewer)
    token = form_token(client, "/incidents/new")
    response = client.post("/incidents/", data={
        "csrf_token": token, "action": "search", "pick_place": "almaty",
        "submissions": aktau, "title": "Typed before filtering"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'value="{almaty}"' in page  # matches the filter
    assert f'value="{aktau}" checked' in page  # ticked before: kept, whatever the filter
    assert 'value="Typed before filtering"' in page
    assert _counts()[0] == 0


def test_a_bad_date_is_a_400_beside_that_field_with_everything_else_kept_and_nothing_stored(
        client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    before = _counts()
    response = _create(client, sid, start_date="2022-13-45", summary="Kept summary")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'<div class="field has-error"><label for="f-start_date">.*?'
                     r'class="field-error" id="error-start_date">Give the date as', page, re.S)
    assert '<a href="#f-start_date">' in page  # the summary links to the field
    assert 'value="Akimat square"' in page
    assert ">Kept summary</textarea>" in page
    assert 'value="14:20"' in page
    assert 'value="2022-13-45"' in page
    assert f'value="{sid}" checked' in page
    assert 'value="excessive_force" checked' in page
    assert _counts() == before  # no incident, no custody event


def test_every_bad_field_is_named_at_once(client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    response = _create(client, sid, start_time="25:99", injured="many", title="")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for field in ("start_time", "injured", "title"):
        assert f'id="error-{field}"' in page
        assert f'href="#f-{field}"' in page
    assert _counts()[0] == 0


def test_a_date_without_a_time_needs_date_only_precision(client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    response = _create(client, sid, start_time="")
    assert response.status_code == 400
    assert 'id="error-start_time"' in response.get_data(as_text=True)
    response = _create(client, sid, start_time="", time_precision="unknown")
    assert response.status_code == 302
    incident = call(client, "GET", f"/api/v1/review/incidents/{_incident_id(response)}",
                    reviewer.token).get_json()
    assert incident["start_utc"] == "2022-01-04T18:00:00Z"  # midnight in Almaty, UTC+6


def test_almaty_time_is_stored_as_utc_and_shown_with_utc_beside(client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    response = _create(client, sid, end_date="2022-01-05", end_time="23:30")
    public_id = _incident_id(response)
    body = call(client, "GET", f"/api/v1/review/incidents/{public_id}", reviewer.token).get_json()
    assert body["start_utc"] == "2022-01-05T08:20:00Z"  # Kazakhstan was UTC+6 in January 2022
    assert body["end_utc"] == "2022-01-05T17:30:00Z"
    fresh_g()
    client.get("/language/ru")
    fresh_g()
    page = client.get(f"/incidents/{public_id}").get_data(as_text=True)
    assert "5 января 2022, 14:20 Алматы (08:20 UTC)" in page
    edit = client.get(f"/incidents/{public_id}/edit").get_data(as_text=True)
    assert 'value="2022-01-05"' in edit
    assert 'value="14:20"' in edit


def test_the_offset_comes_from_the_zone_database_not_a_constant(client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    response = _create(client, sid, start_date="2024-06-01", start_time="12:00")
    body = call(client, "GET", f"/api/v1/review/incidents/{_incident_id(response)}",
                reviewer.token).get_json()
    assert body["start_utc"] == "2024-06-01T07:00:00Z"  # UTC+5 since March 2024


def test_a_failed_edit_keeps_what_was_typed_and_changes_nothing(client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    public_id = _incident_id(_create(client, sid))
    token = form_token(client, f"/incidents/{public_id}/edit")
    response = client.post(f"/incidents/{public_id}", data={
        "csrf_token": token, "title": "A new title", "start_date": "05.01.2022",
        "start_time": "14:20", "time_precision": "exact", "end_date": "2022-01-04",
        "end_time": "10:00", "place": "almaty", "location_precision": "town"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="error-end_date"' in page
    assert 'value="A new title"' in page
    body = call(client, "GET", f"/api/v1/review/incidents/{public_id}", reviewer.token).get_json()
    assert body["title"] == "Akimat square"


def test_a_bad_picker_filter_is_a_400_naming_it(client, reviewer, submit):
    submit()
    sign_in(client, reviewer)
    response = client.get("/incidents/new?pick_from=yesterday")
    assert response.status_code == 400
    assert 'id="error-pick_from"' in response.get_data(as_text=True)


def test_publishing_goes_through_a_preview_of_the_research_page(client, reviewer, submit):
    sid = submit(consent={"legal": True, "research": True, "publication": True,
                          "contact": False})
    sign_in(client, reviewer)
    public_id = _incident_id(_create(client, sid, summary="Shots at a crowd."))
    show = client.get(f"/incidents/{public_id}").get_data(as_text=True)
    assert f"/incidents/{public_id}/publish" in show
    preview = client.get(f"/incidents/{public_id}/publish").get_data(as_text=True)
    assert "Akimat square" in preview
    assert "Shots at a crowd." in preview
    assert "Shots at the akimat." not in preview  # the reviewers' description never shows
    version = re.search(r'name="version" value="([0-9a-f]{64})"', preview)
    assert version
    token = form_token(client, f"/incidents/{public_id}/publish")
    refused = client.post(f"/incidents/{public_id}/publish",
                          data={"csrf_token": token, "published": "1"})
    assert refused.status_code == 400
    assert call(client, "GET", f"/api/v1/review/incidents/{public_id}",
                reviewer.token).get_json()["published"] is False
    done = client.post(f"/incidents/{public_id}/publish",
                       data={"csrf_token": token, "published": "1",
                             "version": version.group(1)})
    assert done.status_code == 302
    research = client.get(f"/research/incidents/{public_id}").get_data(as_text=True)
    body = re.search(r'<dl class="incident">.*?</dl>', research, re.S)
    shown = re.search(r'<dl class="incident">.*?</dl>', preview, re.S)
    assert body
    assert shown
    strip = re.compile(r"<dt>Published</dt><dd>.*?</dd>", re.S)  # the moment it happened
    assert strip.sub("", body.group(0)) == strip.sub("", shown.group(0))


def test_a_change_after_the_preview_refuses_the_publication(client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    public_id = _incident_id(_create(client, sid))
    version = _previewed_version(client, public_id)
    token = form_token(client, f"/incidents/{public_id}/edit")
    client.post(f"/incidents/{public_id}", data={
        "csrf_token": token, "title": "Changed title", "start_date": "2022-01-05",
        "start_time": "14:20", "time_precision": "exact", "place": "almaty",
        "location_precision": "town"})
    response = client.post(f"/incidents/{public_id}/publish", data={
        "csrf_token": token, "published": "1", "version": version})
    assert response.status_code == 409
    assert call(client, "GET", f"/api/v1/review/incidents/{public_id}",
                reviewer.token).get_json()["published"] is False


def test_a_case_without_a_name_is_a_400_beside_the_name_with_the_description_kept(
        client, reviewer):
    sign_in(client, reviewer)
    token = form_token(client, "/cases/")
    response = client.post("/cases/", data={"csrf_token": token, "name": "",
                                            "kind": "prosecution",
                                            "description": "Kept description"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="error-name"' in page
    assert ">Kept description</textarea>" in page
    assert get_session().scalar(select(func.count()).select_from(Case)) == 0


def test_publishing_without_the_form_token_is_refused_and_publishes_nothing(
        client, reviewer, submit):
    sid = submit()
    sign_in(client, reviewer)
    public_id = _incident_id(_create(client, sid))
    version = _previewed_version(client, public_id)
    response = client.post(f"/incidents/{public_id}/publish",
                           data={"published": "1", "version": version})
    assert response.status_code == 400
    assert call(client, "GET", f"/api/v1/review/incidents/{public_id}",
                reviewer.token).get_json()["published"] is False


def test_the_edit_form_never_drops_a_stored_time_it_cannot_show_as_a_date(
        client, reviewer, submit):
    sid = submit()
    created = call(client, "POST", "/api/v1/review/incidents", reviewer.token,
                   {"title": "From the API", "start_utc": "2022-01-05T08:20:00Z",
                    "time_precision": "unknown", "submissions": [sid]})
    assert created.status_code == 201, created.get_json()
    sign_in(client, reviewer)
    edit = client.get(f"/incidents/{created.get_json()['id']}/edit").get_data(as_text=True)
    assert 'value="2022-01-05"' in edit
    assert 'value="14:20"' in edit  # shown, so saving cannot move it to midnight unasked


def _previewed_version(client, public_id: str) -> str:
    """The version the publication preview of `public_id` asks the confirmation to carry."""
    preview = client.get(f"/incidents/{public_id}/publish").get_data(as_text=True)
    version = re.search(r'name="version" value="([0-9a-f]{64})"', preview)
    assert version
    return version.group(1)
