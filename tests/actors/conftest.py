"""A documented world for responsibility: a witness's video and photo, an incident, a person
commanding a unit over a date range, links with citations (through the real API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import Role
from incidents.services.media.process import process_item
from incidents.web.db import get_session
from tests.fixtures.media import video
from tests.helpers import gen_token, gen_user
from tests.review.fixtures import PHOTO, Actor, call, items_of, queued, reviewer, witness
from tests.review.test_incidents import BASE
from tests.submissions.helpers import fresh_g, gen_metadata, post_submission

__all__ = ["queued", "reviewer", "witness"]

PERSON = {"kind": "person", "name_latin": "Serik Zhaksylykov",
          "name_cyrillic": "Серік Жақсылықов", "aliases": ["Полковник С."],
          "transliterations": ["Serik Zhaqsylyqov"],
          "details": "Born 1975; colonel of police; ID card number recorded by counsel."}
UNIT = {"kind": "unit", "name_latin": "Rapid response unit of the Almaty police",
        "name_cyrillic": "Отряд быстрого реагирования ДП г. Алматы", "force": "police"}


@dataclass
class World:
    reviewer: Actor
    witness: Actor
    incident: str
    video_item: str
    photo_item: str
    testimony_item: str
    person: str
    unit: str
    post: str
    perpetrator_link: str
    unit_link: str


def submit_files(app: Flask, client: FlaskClient, who: Actor, queued: list[str],
                 files: list[tuple[bytes, str, str]], **metadata: Any) -> str:
    response = post_submission(client, who.token, gen_metadata(**metadata), files)
    assert response.status_code == 201, response.get_data(as_text=True)
    for item_id in list(queued):
        process_item(get_session(), app.extensions["blobstore"], item_id)
    queued.clear()
    fresh_g()
    return str(response.get_json()["id"])


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:600]
    return response.get_json()


@pytest.fixture
def researcher(app: Flask) -> Actor:
    user = gen_user(Role.RESEARCHER)
    return Actor(user, gen_token(user))


@pytest.fixture
def world(app: Flask, client: FlaskClient, reviewer: Actor, witness: Actor,
          queued: list[str]) -> World:
    submission = submit_files(app, client, witness, queued, [
        (video(seconds=2.0), "clip.mp4", "video/mp4"),
        (PHOTO.read_bytes(), PHOTO.name, "image/jpeg")])
    items = items_of(client, reviewer.token, submission)
    # Testimony first, then the files in the order they were sent.
    by_kind = dict(zip(("testimony", "video/mp4", "image/jpeg"), [i["id"] for i in items],
                       strict=True))
    incident = ok(call(client, "POST", "/api/v1/review/incidents", reviewer.token,
                       {**BASE, "submissions": [submission]}), 201)["id"]
    unit = ok(call(client, "POST", "/api/v1/actors", reviewer.token, UNIT), 201)["id"]
    person = ok(call(client, "POST", "/api/v1/actors", reviewer.token, {
        **PERSON, "photos": [by_kind["image/jpeg"]],
        "posts": [{"kind": "commander", "target": unit, "start": "2021-06-01",
                   "end": "2022-03-31", "rank": "Colonel", "position": "Commander",
                   "citations": [{"item": by_kind["testimony"],
                                  "excerpt": "Their commander, Colonel S., was there"}]}]}),
        201)
    perpetrator = ok(call(client, "POST", f"/api/v1/incidents/{incident}/involvements",
                          reviewer.token, {
                              "actor": person["id"], "role": "direct_perpetrator",
                              "citations": [{"item": by_kind["video/mp4"], "time_start": 0.5,
                                             "time_end": 1.5,
                                             "excerpt": "Полковник стрелял в толпу"}]}), 201)
    present = ok(call(client, "POST", f"/api/v1/incidents/{incident}/involvements",
                      reviewer.token, {
                          "actor": unit, "role": "present_unit", "status": "corroborated",
                          "reason": "Video and testimony agree on the unit's insignia.",
                          "citations": [{"item": by_kind["testimony"],
                                         "excerpt": "Мы видели отряд быстрого реагирования"}]}),
                 201)
    return World(reviewer=reviewer, witness=witness, incident=incident,
                 video_item=by_kind["video/mp4"], photo_item=by_kind["image/jpeg"],
                 testimony_item=by_kind["testimony"], person=person["id"], unit=unit,
                 post=person["posts"][0]["id"], perpetrator_link=perpetrator["id"],
                 unit_link=present["id"])
