"""Incidents: building, precision capped by consent, publishing, merge, split, researchers' list."""

from __future__ import annotations

import pytest

from incidents.core.errors import Conflict, InvalidInput
from incidents.services import custody, incidents
from incidents.services.research import queries as research
from incidents.services.research.filters import Filters
from incidents.services.research.public import LocationPrecision
from incidents.web.db import get_session
from tests.review.fixtures import call

BASE = {"title": "Shooting at the akimat", "start_utc": "2022-01-05T06:00:00Z",
        "place": "almaty", "location_precision": "town", "categories": ["excessive_force"],
        "tags": ["live_ammunition"], "injured": 3, "verification": "corroborated",
        "summary": "Shots fired at a crowd.", "description": "Reviewer's own words."}


def make(client, reviewer, submissions, **overrides):
    response = call(client, "POST", "/api/v1/review/incidents", reviewer.token,
                    {**BASE, **overrides, "submissions": submissions})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_an_incident_links_the_submissions_and_their_photo(client, reviewer, submit):
    sid = submit()
    body = make(client, reviewer, [sid])
    assert body["submissions"] == [sid]
    assert body["has_photo"] is True
    assert body["id"].startswith("INC-")


def test_a_location_finer_than_the_witness_allows_is_refused(client, reviewer, submit):
    sid = submit(place="almaty")  # a town, no point: town at most
    response = call(client, "POST", "/api/v1/review/incidents", reviewer.token,
                    {**BASE, "location_precision": "exact", "submissions": [sid]})
    assert response.status_code == 400
    assert response.get_json()["field"] == "location_precision"


def test_a_witness_who_preferred_not_to_say_leaves_no_place(client, reviewer, submit):
    sid = submit(place="prefer_not_to_say")
    body = make(client, reviewer, [sid], place="", location_precision="none")
    assert body["place"] is None
    assert body["location_precision_cap"] == "none"


def test_publishing_is_a_custody_event_and_reaches_researchers(client, reviewer, submit):
    sid = submit(consent={"legal": True, "research": True, "publication": True,
                          "contact": False})
    incident = make(client, reviewer, [sid])
    assert research.page(get_session(), Filters()) == ()
    call(client, "POST", f"/api/v1/review/incidents/{incident['id']}/publish", reviewer.token,
         {"published": True})
    published = research.page(get_session(), Filters())
    assert [p.id for p in published] == [incident["id"]]
    assert published[0].summary == "Shots fired at a crowd."
    assert published[0].place.precision is LocationPrecision.TOWN
    events = custody.events_for(get_session(), f"incident:{incident['id']}")
    assert events[-1].action == "published"
    assert events[-1].actor == reviewer.user.public_id


def test_the_summary_stays_hidden_unless_every_witness_consented_to_publication(
        client, reviewer, submit):
    agreed = submit(consent={"legal": True, "research": True, "publication": True,
                             "contact": False})
    declined = submit()  # publication: False
    incident = make(client, reviewer, [agreed, declined])
    call(client, "POST", f"/api/v1/review/incidents/{incident['id']}/publish", reviewer.token)
    (public,) = research.page(get_session(), Filters())
    assert public.summary is None
    assert research.page(get_session(), Filters(search="crowd")) == ()


def test_an_incident_without_research_consent_cannot_be_published(client, reviewer, submit):
    sid = submit(consent={"legal": True, "research": False, "publication": False,
                          "contact": False})
    incident = make(client, reviewer, [sid])
    response = call(client, "POST", f"/api/v1/review/incidents/{incident['id']}/publish",
                    reviewer.token)
    assert response.status_code == 409


def test_researchers_filters_select_by_category_region_and_photo(client, reviewer, submit):
    sid = submit()
    one = make(client, reviewer, [sid])
    two = make(client, reviewer, [submit(photo=None)], categories=["detainee_treatment"],
               tags=[], place="zhanaozen")
    for incident in (one, two):
        call(client, "POST", f"/api/v1/review/incidents/{incident['id']}/publish",
             reviewer.token)
    session = get_session()
    assert [p.id for p in research.page(
        session, Filters(categories=("detainee_treatment",)))] == [two["id"]]
    assert [p.id for p in research.page(session, Filters(has_photo=True))] == [one["id"]]
    assert research.count(session, Filters()) == 2


def test_merging_keeps_the_links_and_hides_the_merged_incident(client, reviewer, submit):
    a, b = submit(), submit(photo=None)
    first, second = make(client, reviewer, [a]), make(client, reviewer, [b])
    body = call(client, "POST", f"/api/v1/review/incidents/{first['id']}/merge",
                reviewer.token, {"sources": [second["id"]]}).get_json()
    assert sorted(body["submissions"]) == sorted([a, b])
    listed = call(client, "GET", "/api/v1/review/incidents", reviewer.token).get_json()
    assert [i["id"] for i in listed["incidents"]] == [first["id"]]


def test_splitting_moves_submissions_into_a_new_incident(client, reviewer, submit):
    a, b = submit(), submit(photo=None)
    incident = make(client, reviewer, [a, b])
    response = call(client, "POST", f"/api/v1/review/incidents/{incident['id']}/split",
                    reviewer.token, {"submissions": [b], "title": "The second event"})
    assert response.status_code == 201
    assert response.get_json()["submissions"] == [b]
    rest = call(client, "GET", f"/api/v1/review/incidents/{incident['id']}",
                reviewer.token).get_json()
    assert rest["submissions"] == [a]


def test_splitting_off_every_submission_is_refused(app, reviewer, submit):
    sid = submit()
    incident = incidents.create(get_session(), app.extensions["blobstore"], reviewer.user,
                                incidents.parse_input(BASE),
                                submission_ids=[sid])
    with pytest.raises(InvalidInput):
        incidents.split(get_session(), reviewer.user, incident.public_id, [sid], "x")


def test_a_merged_incident_cannot_be_published(app, reviewer, submit):
    one = incidents.create(get_session(), app.extensions["blobstore"], reviewer.user,
                                incidents.parse_input(BASE),
                           submission_ids=[submit()])
    two = incidents.create(get_session(), app.extensions["blobstore"], reviewer.user,
                                incidents.parse_input(BASE),
                           submission_ids=[submit()])
    incidents.merge(get_session(), reviewer.user, one.public_id, [two.public_id])
    with pytest.raises(Conflict):
        incidents.publish(get_session(), reviewer.user, two.public_id)
