"""A realistic world for the browser tests: every role, real media, a published incident.

Submissions go through the real API (camera photos from ../shared/samples, the same photo
sent twice so near-duplicates appear, a phone video and a voice recording made by FFmpeg
through PyAV); files are processed as the job queue would; incidents are built and
published through the reviewers' service. Browser contexts are signed in by the real
login form run through a test client, its session cookie handed to Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from incidents.models import Role, User
from incidents.services import cases
from incidents.services import incidents as incident_service
from incidents.services.gazetteer import load_gazetteer
from incidents.services.media.process import process_item
from incidents.services.taxonomy import load_taxonomy
from incidents.web.db import get_session
from tests.fixtures import media
from tests.helpers import BrowserLikeClient, gen_token, gen_user, login
from tests.submissions.helpers import gen_metadata, post_submission

SAMPLES = Path("/work/shared/samples/photos")
RU_TESTIMONY = ("Пятого января на площади Республики силовики стреляли в безоружных людей. "
                "Я снимал это на телефон из окна, потом мы прятались в подъезде до вечера; "
                "соседка перевязывала раненого парня прямо на лестнице.")

# What people paste: a link with no space in it (it must wrap, not widen the page).
LONG_WORD = "https://t.me/" + "очень_длинная_ссылка_без_пробелов_" * 6


@dataclass
class World:
    server: str
    users: dict[str, User]
    submissions: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    incidents: dict[str, str] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)
    # One sign-in per role (a second factor's code works once): its session cookie, reused.
    cookies: dict[str, tuple[str, str]] = field(default_factory=dict)


def _process(app: Flask, queued: list[Any]) -> None:
    for item_id in list(queued):
        process_item(get_session(), app.extensions["blobstore"], item_id)
    queued.clear()


def build(app: Flask, server: str, *, near_duplicates: bool = False) -> World:
    queued: list[Any] = []
    app.extensions["media_queue"] = queued.extend
    users = {role: gen_user(Role(role), pseudonym=f"{role}-one")
             for role in ("contributor", "reviewer", "researcher", "admin")}
    world = World(server, users)
    client = app.test_client()
    token = gen_token(users["contributor"])
    photo = (SAMPLES / "jpg_gps_DSCN0010.jpg").read_bytes()
    # With `near_duplicates=True` the second report sends the same photo again; otherwise
    # another camera's (the review page of a near-duplicate is fixed by issue 9 on main).
    other = photo if near_duplicates else (SAMPLES / "jpg_Canon_40D.jpg").read_bytes()
    sends: dict[str, tuple[dict[str, Any], list[tuple[bytes, str, str]]]] = {
        "photo": (gen_metadata(testimony=RU_TESTIMONY, place="almaty_city",
                               occurred_at="2022-01-05T14:20:00+06:00",
                               time_precision="exact"),
                  [(photo, "площадь.jpg", "image/jpeg")]),
        "again": (gen_metadata(occurred_at="2022-01-06", place="almaty",
                               consent={"legal": True, "research": True,
                                        "publication": True, "contact": False}),
                  [(other, "ещё раз.jpg", "image/jpeg")]),
        "video": (gen_metadata(place="zhanaozen", occurred_at="2022-01-04",
                               testimony=RU_TESTIMONY + " " + LONG_WORD),
                  [(media.video("mp4", seconds=4.0), "видео.mp4", "video/mp4")]),
        "audio": (gen_metadata(place="aktau", occurred_at="2022-01-04"),
                  [(media.audio("ipod", seconds=3.0), "голос.m4a", "audio/mp4")]),
    }
    for name, (metadata, files) in sends.items():
        response = post_submission(client, token, metadata, files)
        assert response.status_code == 201, response.get_data(as_text=True)
        world.submissions[name] = response.get_json()["id"]
        _process(app, queued)
    session = get_session()
    reviewer = users["reviewer"]
    gazetteer, taxonomy = load_gazetteer(), load_taxonomy()
    from sqlalchemy import select  # noqa: PLC0415

    from incidents.models import Submission  # noqa: PLC0415 - test data only

    subs = list(session.scalars(select(Submission).where(
        Submission.public_id.in_([world.submissions["photo"], world.submissions["again"]]))))
    data = incident_service.input_from_submissions(subs, "Shooting on Republic Square")
    data.update({"description": "Security forces fired on the crowd.",
                 "summary": "Witnesses describe shots fired at unarmed people.",
                 "location_precision": "town", "injured": 3, "verification": "corroborated"})
    incident = incident_service.create(
        session, app.extensions["blobstore"], reviewer,
        incident_service.parse_input(data, taxonomy=taxonomy, gazetteer=gazetteer),
        submission_ids=[s.public_id for s in subs], gazetteer=gazetteer)
    incident_service.publish(session, reviewer, incident.public_id, gazetteer=gazetteer)
    world.incidents["square"] = incident.public_id
    # An incident not yet published (its publication preview) and a case holding both.
    draft = incident_service.create(
        session, app.extensions["blobstore"], reviewer, incident_service.parse_input(
            {"title": "Detentions in Zhanaozen", "start_utc": "2022-01-04T08:00:00Z",
             "time_precision": "approximate", "place": "zhanaozen"},
            taxonomy=taxonomy, gazetteer=gazetteer),
        submission_ids=[world.submissions["video"]], gazetteer=gazetteer)
    world.incidents["draft"] = draft.public_id
    case = cases.create(session, app.extensions["blobstore"], users["admin"],
                        "Zhanaozen, January 2022", "prosecution", "For the prosecutor's office.")
    cases.add_member(session, users["admin"], case.public_id, reviewer.pseudonym)
    cases.add_incidents(session, reviewer, case.public_id, [incident.public_id])
    world.cases["zhanaozen"] = case.public_id
    return world


def signed_in(chromium: Any, app: Flask, world: World, role: str | None, *,
              locale: str = "ru-RU", width: int = 1280, height: int = 900,
              javascript: bool = True) -> Any:
    """A browser context of someone with ``role`` (None: nobody), in ``locale``."""
    context = chromium.new_context(locale=locale, viewport={"width": width, "height": height},
                                   java_script_enabled=javascript)
    if role is not None:
        if role not in world.cookies:
            client = app.test_client()
            client.__class__ = BrowserLikeClient
            login(client, world.users[role])
            cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
            assert cookie is not None
            world.cookies[role] = (cookie.key, cookie.value)
        name, value = world.cookies[role]
        host = urlsplit(world.server).hostname
        context.add_cookies([{"name": name, "value": value, "domain": host,
                              "path": "/", "httpOnly": True}])
    language = locale.split("-")[0]
    if language != "en":
        page = context.new_page()
        page.goto(f"{world.server}/language/{language}?next=/")
        page.close()
    return context


def pages_for(world: World, role: str | None) -> Iterator[str]:
    """The pages a person in ``role`` reaches from the navigation, with real ids."""
    sub = world.submissions
    yield "/"
    if role is None:
        yield from ("/login", "/register")
        return
    yield from ("/submit", "/submissions", "/account/")
    if role == "contributor":
        yield f"/submissions/{sub['photo']}"
        yield f"/submissions/{sub['photo']}/receipt"
    if role in ("researcher", "reviewer", "admin"):
        yield from ("/research/", "/research/map")
        yield f"/research/incidents/{world.incidents['square']}"
    if role in ("reviewer", "admin"):
        yield from ("/review/", "/incidents/", "/incidents/new", "/cases/")
        for name in ("photo", "again", "video", "audio"):
            yield f"/review/submissions/{sub[name]}"
        yield f"/incidents/{world.incidents['square']}"
        yield f"/incidents/{world.incidents['square']}/edit"
        yield f"/incidents/{world.incidents['draft']}"
        yield f"/incidents/{world.incidents['draft']}/publish"
        yield f"/cases/{world.cases['zhanaozen']}"
    if role == "admin":
        yield from ("/admin/users", "/admin/invitations")
