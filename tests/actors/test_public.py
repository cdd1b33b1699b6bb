"""Researchers may see the kind of force of an established link, never a person."""

from __future__ import annotations

from tests.actors.conftest import ok
from tests.review.fixtures import call
from tests.review.test_pages import sign_in

SECRETS = ("Zhaksylykov", "Жақсылықов", "Rapid response", "Отряд", "ACT-")


def test_an_established_link_shows_its_kind_of_force_and_no_name(app, client, world,
                                                                  researcher):
    token = world.reviewer.token
    incident = ok(call(client, "GET", f"/api/v1/review/incidents/{world.incident}", token))
    ok(call(client, "POST", f"/api/v1/review/submissions/{incident['submissions'][0]}/status",
            token, {"status": "accepted"}))
    ok(call(client, "POST", f"/api/v1/review/incidents/{world.incident}/publish", token,
            {"published": True}))
    browser = app.test_client()
    sign_in(browser, researcher)
    before = browser.get(f"/research/incidents/{world.incident}").get_data(as_text=True)
    assert "Forces involved" not in before  # corroborated is not enough
    ok(call(client, "POST", f"/api/v1/involvements/{world.unit_link}/status", token,
            {"status": "established", "reason": "Insignia matched in three videos."}))
    ok(call(client, "POST", f"/api/v1/involvements/{world.perpetrator_link}/status", token,
            {"status": "established", "reason": "Identified by two witnesses."}))
    page = browser.get(f"/research/incidents/{world.incident}").get_data(as_text=True)
    assert "Forces involved (established)" in page
    assert "police" in page
    exports = [browser.get(f"/research/timeline.{fmt}").get_data(as_text=True)
               for fmt in ("csv", "json", "geojson")]
    timeline = browser.get("/research/").get_data(as_text=True)
    api = call(client, "GET", "/api/v1/incidents", researcher.token).get_data(as_text=True)
    for shown in (page, timeline, api, *exports):
        assert not any(s in shown for s in SECRETS)
