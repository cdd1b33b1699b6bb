"""Actors, involvement links, command chains and translations through the API, as a reviewer
(and a researcher or witness trying) would use them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from incidents.models import Actor, BlobRecord, CustodyEvent, Involvement
from incidents.models.base import Base
from incidents.services import custody
from incidents.web.db import get_session
from tests.actors.conftest import PERSON, UNIT, ok, submit_files
from tests.review.fixtures import call, items_of
from tests.web.route_walk import walk_routes
from tests.web.test_route_matrix import browser_for
from tests.web.test_route_matrix import call as matrix_call


def stored_counts() -> tuple[int, int, int, int]:
    session = get_session()
    counts = (session.scalar(select(func.count()).select_from(CustodyEvent)) or 0,
              session.scalar(select(func.count()).select_from(BlobRecord)) or 0,
              session.scalar(select(func.count()).select_from(Actor)) or 0,
              session.scalar(select(func.count()).select_from(Involvement)) or 0)
    session.rollback()
    return counts


def test_a_person_commands_a_unit_over_a_date_range(client, world):
    person = ok(call(client, "GET", f"/api/v1/actors/{world.person}", world.reviewer.token))
    assert person["name_cyrillic"] == "Серік Жақсылықов"
    assert person["aliases"] == ["Полковник С."]
    assert person["photos"] == [world.photo_item]
    (post,) = person["posts"]
    assert (post["kind"], post["target"], post["start"], post["end"], post["rank"]) == (
        "commander", world.unit, "2021-06-01", "2022-03-31", "Colonel")
    unit = ok(call(client, "GET", f"/api/v1/actors/{world.unit}", world.reviewer.token))
    assert [p["actor"] for p in unit["posts"]] == [world.person]
    listed = ok(call(client, "GET", "/api/v1/actors?kind=person", world.reviewer.token))
    assert [a["name"] for a in listed["actors"]] == [
        "Serik Zhaksylykov (Серік Жақсылықов)"]


def test_the_perpetrator_is_alleged_with_a_video_time_range_and_the_unit_corroborated(
        client, world):
    links = ok(call(client, "GET", f"/api/v1/incidents/{world.incident}/involvements",
                    world.reviewer.token))["involvements"]
    by_role = {link["role"]: link for link in links}
    perpetrator = by_role["direct_perpetrator"]
    assert perpetrator["status"] == "alleged"
    assert not perpetrator["uncited"]
    (cited,) = perpetrator["citations"]
    assert (cited["item"], cited["time_start"], cited["time_end"]) == (
        world.video_item, 0.5, 1.5)
    unit = by_role["present_unit"]
    assert unit["status"] == "corroborated"
    assert unit["changes"][0]["reason"].startswith("Video and testimony agree")


def test_a_link_without_a_citation_is_only_alleged_and_shown_as_uncited(client, world):
    other = ok(call(client, "POST", "/api/v1/actors", world.reviewer.token,
                    {"kind": "person", "name_latin": "Unknown officer"}), 201)["id"]
    refused = call(client, "POST", f"/api/v1/incidents/{world.incident}/involvements",
                   world.reviewer.token, {"actor": other, "role": "gave_order",
                                          "status": "established", "reason": "sure"})
    assert refused.status_code == 400
    assert refused.get_json()["field"] == "status"
    made = ok(call(client, "POST", f"/api/v1/incidents/{world.incident}/involvements",
                   world.reviewer.token, {"actor": other, "role": "gave_order"}), 201)
    assert made["status"] == "alleged"
    assert made["uncited"] is True
    moved = call(client, "POST", f"/api/v1/involvements/{made['id']}/status",
                 world.reviewer.token, {"status": "corroborated", "reason": "two witnesses"})
    assert moved.status_code == 400
    assert moved.get_json()["field"] == "status"
    page = client.get(f"/actors/incidents/{world.incident}")  # not signed in: no page
    assert page.status_code == 302


def test_the_status_moves_with_who_and_why(client, world):
    moved = ok(call(client, "POST", f"/api/v1/involvements/{world.unit_link}/status",
                    world.reviewer.token, {"status": "established",
                                           "reason": "Insignia matched in three videos."}))
    assert moved["status"] == "established"
    last = moved["changes"][-1]
    assert (last["old"], last["new"], last["by"]) == (
        "corroborated", "established", world.reviewer.user.public_id)
    assert last["reason"] == "Insignia matched in three videos."


def test_the_derived_command_chain_names_who_commanded_each_level_on_the_day(client, world):
    token = world.reviewer.token
    parent = ok(call(client, "POST", "/api/v1/actors", token, {
        "kind": "unit", "name_latin": "Police Department of Almaty", "force": "police"}), 201)
    ok(call(client, "POST", f"/api/v1/actors/{world.unit}/posts", token,
            {"kind": "part_of", "target": parent["id"], "start": "2020-01-01"}), 201)
    chief = ok(call(client, "POST", "/api/v1/actors", token, {
        "kind": "person", "name_latin": "Chief", "posts": [
            {"kind": "commander", "target": parent["id"], "start": "2021-01-01"}]}), 201)
    ok(call(client, "POST", "/api/v1/actors", token, {  # left before the incident: not named
        "kind": "person", "name_latin": "Former chief", "posts": [
            {"kind": "commander", "target": parent["id"], "start": "2019-01-01",
             "end": "2020-12-31"}]}), 201)
    derived = ok(call(client, "GET", f"/api/v1/incidents/{world.incident}/command-chain",
                      token))["links"]
    assert [(lk["level"], lk["unit"], lk["commander"]) for lk in derived] == [
        (0, world.unit, world.person), (1, parent["id"], chief["id"])]
    assert derived[0]["evidence"] == [world.testimony_item]
    assert all(lk["decision"] is None for lk in derived)


def test_a_lawyer_confirms_or_rejects_each_derived_link(client, world, session):
    token = world.reviewer.token
    bad = call(client, "POST", f"/api/v1/incidents/{world.incident}/command-chain", token,
               {"post": "POS-NOTINCHAIN", "decision": "confirmed"})
    assert bad.status_code == 400
    assert bad.get_json()["field"] == "post"
    no_reason = call(client, "POST", f"/api/v1/incidents/{world.incident}/command-chain",
                     token, {"post": world.post, "decision": "rejected"})
    assert no_reason.status_code == 400
    assert no_reason.get_json()["field"] == "reason"
    chain = ok(call(client, "POST", f"/api/v1/incidents/{world.incident}/command-chain", token,
                    {"post": world.post, "decision": "rejected",
                     "reason": "He was on leave that week (order no. 12)."}))
    assert chain["links"][0]["decision"] == "rejected"
    events = custody.events_for(session, f"incident:{world.incident}")
    assert events[-1].action == "chain_reviewed"
    assert events[-1].details["decision"] == "rejected"


def test_a_translation_is_shown_beside_the_original_which_is_unchanged(client, world):
    links = ok(call(client, "GET", f"/api/v1/incidents/{world.incident}/involvements",
                    world.reviewer.token))["involvements"]
    citation = next(lk for lk in links if lk["role"] == "direct_perpetrator")["citations"][0]
    added = ok(call(client, "POST", f"/api/v1/citations/{citation['id']}/translations",
                    world.reviewer.token, {"language": "en",
                                           "text": "The colonel fired into the crowd"}), 201)
    assert added["translator"] == world.reviewer.user.public_id
    again = ok(call(client, "GET", f"/api/v1/incidents/{world.incident}/involvements",
                    world.reviewer.token))["involvements"]
    shown = next(lk for lk in again if lk["role"] == "direct_perpetrator")["citations"][0]
    assert shown["excerpt"] == "Полковник стрелял в толпу"
    assert [t["text"] for t in shown["translations"]] == ["The colonel fired into the crowd"]
    bad = call(client, "POST", f"/api/v1/citations/{citation['id']}/translations",
               world.reviewer.token, {"language": "english!!", "text": "x"})
    assert bad.status_code == 400
    assert bad.get_json()["field"] == "language"


@pytest.mark.parametrize(("body", "field"), [
    ({"actor": "ACT-NOSUCHONE", "role": "direct_perpetrator"}, "actor"),
    ({"actor": "PERSON", "role": "gave_order",
      "citations": [{"item": "NOT-IN-INCIDENT"}]}, "citations[0].item"),
    ({"actor": "PERSON", "role": "direct_perpetrator",
      "citations": [{"item": "VIDEO", "time_start": 5, "time_end": 2}]}, "citations[0].time_end"),
    ({"actor": "PERSON", "role": "detention_facility"}, "role"),
])
def test_bad_involvements_answer_400_naming_the_field_and_store_nothing(
        app, client, world, queued, body, field):
    body = {k: v for k, v in body.items()}
    if body["actor"] == "PERSON":
        body["actor"] = world.person
    for c in body.get("citations", []):
        c["item"] = {"VIDEO": world.video_item}.get(c["item"], c["item"])
    if field == "citations[0].item":  # an item that exists, but in no incident of ours
        elsewhere = submit_files(app, client, world.witness, queued, [])
        (other,) = items_of(client, world.reviewer.token, elsewhere)
        body["citations"] = [{"item": other["id"]}]
    before = stored_counts()
    response = call(client, "POST", f"/api/v1/incidents/{world.incident}/involvements",
                    world.reviewer.token, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["field"] == field
    assert stored_counts() == before


@pytest.mark.parametrize(("body", "field"), [
    ({**PERSON, "name_latin": "N" * 201}, "name_latin"),
    ({**PERSON, "posts": [{"kind": "commander", "target": "UNIT", "start": "2022-02-01",
                           "end": "2022-01-01"}]}, "posts[0].end"),
    ({**PERSON, "posts": [{"kind": "commander", "target": "ACT-NOSUCHONE"}]},
     "posts[0].target"),
    ({**UNIT, "force": "secret_police"}, "force"),
    ({"kind": "person"}, "name_latin"),
])
def test_bad_actors_answer_400_naming_the_field_and_store_nothing(client, world, body, field):
    for post in body.get("posts", []):
        post["target"] = world.unit if post["target"] == "UNIT" else post["target"]
    before = stored_counts()
    response = call(client, "POST", "/api/v1/actors", world.reviewer.token, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["field"] == field
    assert stored_counts() == before


def test_every_change_is_a_custody_event_in_each_subject_chain(world, session):
    actions = {s: [e.action for e in custody.events_for(session, s)] for s in (
        f"actor:{world.person}", f"involvement:{world.perpetrator_link}",
        f"evidence:{world.video_item}", f"evidence:{world.testimony_item}",
        f"evidence:{world.photo_item}", f"incident:{world.incident}")}
    assert actions[f"actor:{world.person}"][:2] == ["actor_created", "post_added"]
    assert "involvement_linked" in actions[f"actor:{world.person}"]
    assert actions[f"involvement:{world.perpetrator_link}"] == ["involvement_created"]
    assert "cited" in actions[f"evidence:{world.video_item}"]
    assert actions[f"evidence:{world.testimony_item}"].count("cited") == 2  # post and unit
    assert "cited" in actions[f"evidence:{world.photo_item}"]
    assert "involvement_linked" in actions[f"incident:{world.incident}"]
    cited = next(e for e in custody.events_for(session, f"evidence:{world.video_item}")
                 if e.action == "cited")
    assert cited.details["time_start_ms"] == 500
    assert cited.details["time_end_ms"] == 1500


def test_names_details_and_excerpts_are_not_stored_in_the_clear(app, world, session):
    secrets = ["Zhaksylykov", "Жақсылықов", "Полковник", "ID card number"]
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            text = repr(tuple(row))
            assert not any(s in text for s in secrets), table.name
    folder = app.extensions["settings"].instance_path
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000:
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), path.name


def my_routes(app):
    return [(rule, method, path) for rule, method, path in walk_routes(app)
            if rule.endpoint.startswith("actors.") or rule.endpoint in {
                "api_v1.list_actors", "api_v1.create_actor", "api_v1.get_actor",
                "api_v1.edit_actor",
                "api_v1.add_actor_post", "api_v1.list_involvements",
                "api_v1.create_involvement", "api_v1.involvement_status",
                "api_v1.add_translation", "api_v1.command_chain",
                "api_v1.review_command_chain", "api_v1.create_dossier"}]


@pytest.mark.parametrize("who", ["researcher", "witness"])
def test_researchers_and_contributors_are_refused_everywhere(app, client, world, who,
                                                             request):
    actor = request.getfixturevalue(who) if who == "researcher" else world.witness
    routes = my_routes(app)
    assert len(routes) >= 20
    for _rule, method, path in routes:
        real = (path.replace("/x", f"/{world.person}") if "actors/x" in path
                else path.replace("incidents/x", f"incidents/{world.incident}"))
        # Signed in through a real session, with a real CSRF token (as a browser would be).
        response = matrix_call(browser_for(app, actor.user), method, real)
        assert response.status_code == 403, f"{method} {real}: {response.status_code}"
        assert "Zhaksylykov" not in response.get_data(as_text=True)


def test_an_uncited_link_may_be_rejected_with_a_reason(client, world):
    other = ok(call(client, "POST", "/api/v1/actors", world.reviewer.token,
                    {"kind": "person", "name_latin": "Named by rumour"}), 201)["id"]
    made = ok(call(client, "POST", f"/api/v1/incidents/{world.incident}/involvements",
                   world.reviewer.token, {"actor": other, "role": "gave_order"}), 201)
    moved = ok(call(client, "POST", f"/api/v1/involvements/{made['id']}/status",
                    world.reviewer.token, {"status": "rejected",
                                           "reason": "He was abroad on that day."}))
    assert moved["status"] == "rejected"
    assert moved["uncited"] is True


def test_a_dossier_for_an_unknown_actor_answers_400_naming_the_field(client, world):
    before = stored_counts()
    response = call(client, "POST", "/api/v1/dossiers", world.reviewer.token,
                    {"actor": "ACT-NOSUCHONE"})
    assert response.status_code == 400
    assert response.get_json()["field"] == "actor"
    assert stored_counts() == before


def test_an_edit_is_a_new_sealed_version_and_a_custody_event(client, world, session):
    before = ok(call(client, "GET", f"/api/v1/actors/{world.person}", world.reviewer.token))
    edited = ok(call(client, "PUT", f"/api/v1/actors/{world.person}", world.reviewer.token, {
        **{k: before[k] for k in ("name_latin", "name_cyrillic", "transliterations")},
        "aliases": [*before["aliases"], "Серік Ж."], "details": "Born 12 March 1975."}))
    assert edited["aliases"] == ["Полковник С.", "Серік Ж."]
    assert edited["details"] == "Born 12 March 1975."
    assert edited["posts"] == before["posts"]
    (event,) = [e for e in custody.events_for(session, f"actor:{world.person}")
                if e.action == "actor_edited"]
    old = session.get(BlobRecord, event.details["previous"])
    assert old is not None  # the earlier version is kept
    assert old.status.value == "active"
    too_long = call(client, "PUT", f"/api/v1/actors/{world.person}", world.reviewer.token,
                    {"name_latin": "x" * 201})
    assert too_long.status_code == 400
    assert too_long.get_json()["field"] == "name_latin"
