"""A reviewer who is not on a case tries every export path to its evidence (issue 11, item 6).

The one export rule: an item or incident that belongs to a case leaves only with a member
of that case, whether asked for by case, by incident or item by item, by API or by form.
"""

from __future__ import annotations

import pytest

from incidents.models import Role
from tests.helpers import gen_token, gen_user
from tests.review.fixtures import Actor, call, items_of
from tests.review.test_incidents import BASE
from tests.review.test_pages import sign_in
from tests.web.conftest import form_token


@pytest.fixture
def outsider(app) -> Actor:
    user = gen_user(Role.REVIEWER)
    return Actor(user, gen_token(user))


@pytest.fixture
def cased(client, reviewer, submit):
    """A case (the reviewer's) holding an incident; another item in the case directly."""
    in_incident, direct = submit(), submit()
    for sid in (in_incident, direct):
        call(client, "POST", f"/api/v1/review/submissions/{sid}/status", reviewer.token,
             {"status": "accepted"})
    incident = call(client, "POST", "/api/v1/review/incidents", reviewer.token,
                    {**BASE, "submissions": [in_incident]}).get_json()["id"]
    case = call(client, "POST", "/api/v1/cases", reviewer.token,
                {"name": "Prosecution of Y", "kind": "prosecution"}).get_json()["id"]
    call(client, "POST", f"/api/v1/cases/{case}/incidents", reviewer.token,
         {"incidents": [incident]})
    direct_item = items_of(client, reviewer.token, direct)[0]["id"]
    added = call(client, "POST", f"/api/v1/cases/{case}/items", reviewer.token,
                 {"items": [direct_item]})
    assert added.status_code < 300, added.get_data(as_text=True)
    return {"case": case, "incident": incident, "direct_item": direct_item,
            "incident_item": items_of(client, reviewer.token, in_incident)[0]["id"]}


def test_a_non_member_gets_403_on_the_case_itself(client, outsider, cased):
    response = call(client, "POST", "/api/v1/bundles", outsider.token, {"case_id": cased["case"]})
    assert response.status_code == 403


def test_a_non_member_cannot_export_the_cases_incident_through_the_api(client, outsider, cased):
    response = call(client, "POST", "/api/v1/bundles", outsider.token,
                    {"incident_id": cased["incident"]})
    assert response.status_code == 403
    assert response.mimetype == "application/json"


@pytest.mark.parametrize("which", ["direct_item", "incident_item"])
def test_a_non_member_cannot_export_the_cases_items_through_the_api(client, outsider, cased,
                                                                    which):
    response = call(client, "POST", "/api/v1/bundles", outsider.token,
                    {"evidence_ids": [cased[which]]})
    assert response.status_code == 403


def test_one_item_of_someone_elses_case_makes_the_whole_item_export_403(
        client, reviewer, outsider, cased, submit):
    free = submit()
    call(client, "POST", f"/api/v1/review/submissions/{free}/status", reviewer.token,
         {"status": "accepted"})
    free_item = items_of(client, outsider.token, free)[0]["id"]
    alone = call(client, "POST", "/api/v1/bundles", outsider.token, {"evidence_ids": [free_item]})
    assert alone.status_code == 200  # evidence in no case: any reviewer may export it
    assert alone.get_data()[:2] == b"PK"
    mixed = call(client, "POST", "/api/v1/bundles", outsider.token,
                 {"evidence_ids": [free_item, cased["direct_item"]]})
    assert mixed.status_code == 403


def test_a_non_member_cannot_export_the_cases_incident_from_its_page(client, outsider, cased):
    sign_in(client, outsider)
    token = form_token(client, f"/incidents/{cased['incident']}")
    response = client.post(f"/incidents/{cased['incident']}/export",
                           data={"csrf_token": token})
    assert response.status_code == 403
    assert response.mimetype == "text/html"


def test_a_non_member_cannot_export_the_cases_items_from_the_review_form(client, outsider,
                                                                          cased):
    sign_in(client, outsider)
    token = form_token(client, "/review/")
    response = client.post("/review/bundle", data={
        "csrf_token": token, "items": f"{cased['direct_item']} {cased['incident_item']}"})
    assert response.status_code == 403


def test_the_members_export_of_the_same_incident_and_items_still_works(client, reviewer,
                                                                       cased):
    by_incident = call(client, "POST", "/api/v1/bundles", reviewer.token,
                       {"incident_id": cased["incident"]})
    assert by_incident.status_code == 200
    assert by_incident.get_data()[:2] == b"PK"  # streamed to the end: a ZIP
    by_items = call(client, "POST", "/api/v1/bundles", reviewer.token,
                    {"evidence_ids": [cased["direct_item"], cased["incident_item"]]})
    assert by_items.status_code == 200
    assert by_items.get_data()[:2] == b"PK"
