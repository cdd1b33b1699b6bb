"""THE leak test: nothing that could identify a witness reaches anything a researcher can GET.

Witnesses send reports full of unique markers (pseudonym, testimony, file name, EXIF camera
and GPS in a real JPEG made with Pillow, an exact point, the forces description); reviewers
build and publish incidents from them with the reviewers' own service (a description and, for
a witness who refused publication, an excerpt that must stay hidden). Then every route a
researcher may GET (per `incidents.web.permissions.PERMISSIONS`), with the real ids of those
submissions, items and incidents where a route takes one, and every export with and without
filters, is fetched as a signed-in researcher and searched for each marker.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask, current_app
from PIL import Image
from sqlalchemy import func, select

from incidents.models import CustodyEvent, EvidenceItem, Role, Submission, User
from incidents.services import incidents as incident_service
from incidents.services.media.process import process_item
from incidents.web.db import get_session
from incidents.web.permissions import allowed
from tests.helpers import gen_token, gen_user
from tests.submissions.helpers import post_submission
from tests.web.conftest import sign_in
from tests.web.route_walk import rule_methods, rule_path

PSEUDONYM = "Qx7LeakWitnessPseud"
TESTIMONY = "Qx7LEAKTESTIMONY soldiers fired near the akimat"
FORCES = "Qx7LEAKFORCES unit 3318"
FILE_NAME = "Qx7LEAKFILENAME-IMG_0042.jpg"
EXIF_MAKE = "Qx7LeakMake"
EXIF_MODEL = "Qx7LeakModel Z9"
EXIF_SERIAL = "Qx7SERIAL-99812"
EXIF_SOFTWARE = "Qx7LeakSoftware 4.2"
GPS = (43.257123, 76.945234)  # not a gazetteer point (Almaty is 43.2389, 76.8897)
POINT = (43.261987, 76.951456)
DESCRIPTION = "Qx7LEAKDESCRIPTION reviewers' own words"
HIDDEN_SUMMARY = "Qx7LEAKSUMMARY an excerpt the witness did not agree to publish"
PUBLIC_SUMMARY = "An excerpt every witness agreed to publish"


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4))


def marked_jpeg() -> bytes:
    """A real JPEG whose EXIF carries camera, serial, software and GPS markers."""
    exif = Image.Exif()
    exif[0x010F] = EXIF_MAKE
    exif[0x0110] = EXIF_MODEL
    exif[0x0131] = EXIF_SOFTWARE
    exif[0x0132] = "2022:01:05 14:30:00"
    exif.get_ifd(0x8769)[0xA431] = EXIF_SERIAL
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", _dms(GPS[0]), "E", _dms(GPS[1])
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 30, 30)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _coordinate_markers(lat: float, lon: float) -> list[str]:
    """Coordinates as any export or page might print them (3+ decimals identify a street)."""
    return [f"{lat:.3f}", f"{lon:.3f}", f"{lat:.4f}", f"{lon:.4f}"]


def _report(client: Any, witness: User, *, publication: bool, place: str,
            point: tuple[float, float] | None) -> Submission:
    metadata = {
        "testimony": TESTIMONY, "occurred_at": "2022-01-05T14:30:00+06:00",
        "time_precision": "exact", "place": place,
        "point": list(point) if point else None, "forces": FORCES,
        "categories": ["excessive_force"], "tags": ["live_ammunition"],
        "counts": {"injured": 4, "detained": 1},
        "consent": {"legal": True, "research": True, "publication": publication,
                    "contact": True},
    }
    response = post_submission(client, gen_token(witness), metadata,
                               [(marked_jpeg(), FILE_NAME, "image/jpeg")])
    assert response.status_code == 201, response.get_json()
    session = get_session()
    submission = session.scalar(select(Submission).where(
        Submission.public_id == response.get_json()["id"]))
    assert submission is not None
    for item in submission.items:  # extract the EXIF (kept encrypted), mark photo evidence
        process_item(session, _store(), item.id)
    session.commit()
    return submission


def _store() -> Any:
    return current_app.extensions["blobstore"]


@pytest.fixture
def published(app: Flask) -> dict[str, Any]:
    """Two witnesses' marked reports, and incidents published from them by a reviewer."""
    app.extensions["media_queue"] = lambda ids: None  # processed synchronously below
    witness = gen_user(Role.CONTRIBUTOR, pseudonym=PSEUDONYM)
    other = gen_user(Role.CONTRIBUTOR, pseudonym=PSEUDONYM + "Two")
    reviewer = gen_user(Role.REVIEWER)
    client = app.test_client()
    refused = _report(client, witness, publication=False, place="almaty_city", point=POINT)
    agreed = _report(client, other, publication=True, place="prefer_not_to_say", point=None)
    session = get_session()

    def make(subs: list[Submission], **fields: Any) -> str:
        data = incident_service.input_from_submissions(subs, fields.pop("title"))
        data.update(fields)
        incident = incident_service.create(session, app.extensions["blobstore"], reviewer,
                                           incident_service.parse_input(data),
                                           submission_ids=[s.public_id for s in subs])
        incident_service.publish(session, reviewer, incident.public_id)
        return incident.public_id

    town = make([refused], title="Shooting near the akimat", description=DESCRIPTION,
                summary=HIDDEN_SUMMARY, location_precision="town")
    # The second witness preferred not to say where: the reviewer's town must stay hidden.
    hidden = make([agreed], title="Arrests at a checkpoint", description=DESCRIPTION,
                  summary=PUBLIC_SUMMARY, place="zhanaozen", location_precision="none")
    items = list(session.scalars(select(EvidenceItem)))
    markers = [PSEUDONYM, TESTIMONY, "Qx7LEAKTESTIMONY", FORCES, "Qx7LEAKFORCES",
               FILE_NAME, "Qx7LEAKFILENAME", "IMG_0042", EXIF_MAKE, EXIF_MODEL, EXIF_SERIAL,
               EXIF_SOFTWARE, DESCRIPTION, "Qx7LEAKDESCRIPTION", "Qx7LEAKSUMMARY",
               *_coordinate_markers(*GPS), *_coordinate_markers(*POINT),
               witness.public_id, other.public_id, refused.public_id, agreed.public_id,
               *(i.public_id for i in items), *(i.blob_id for i in items)]
    return {"markers": markers, "incidents": [town, hidden], "hidden": hidden,
            "submissions": [refused.public_id, agreed.public_id],
            "items": [i.public_id for i in items]}


def researcher_paths(app: Flask, data: dict[str, Any]) -> list[str]:
    """Every GET route a researcher may reach, with real ids wherever a route takes one."""
    session = get_session()
    seqs = [str(s) for s in session.scalars(select(CustodyEvent.seq))][:200]
    samples = {"public_id": [*data["incidents"], *data["submissions"], *data["items"], "x"],
               "seq": seqs, "kind": ["csv", "json", "geojson"]}
    paths: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule_methods(rule) or not allowed(rule.endpoint, Role.RESEARCHER):
            continue
        if rule.endpoint in {"static", "auth.logout", "main.language", "submit.quick_exit"}:
            continue
        names = list(rule.arguments - set(rule.defaults or {}))
        if not names:
            paths.append(rule_path(rule))
            continue
        assert len(names) == 1, rule.rule
        for value in samples.get(names[0], ["x", "1"]):
            paths.append(rule.build({names[0]: value}, append_unknown=False)[1])
    filtered = ["?category=excessive_force", "?tag=live_ammunition", "?town=zhanaozen",
                "?region=mangystau", "?has_photo=yes", "?q=Qx7", "?q=akimat",
                "?verification=reported&sort=-published", "?from=2022-01-01&to=2022-01-31"]
    for base in ("/research/", "/research/map", "/research/map.json", "/api/v1/incidents",
                 "/api/v1/timeline.csv", "/api/v1/timeline.json", "/api/v1/timeline.geojson",
                 "/research/timeline.csv", "/research/timeline.geojson"):
        paths += [base + query for query in filtered]
    return paths


def test_no_marker_reaches_any_page_or_export_a_researcher_can_get(app, published):
    researcher = gen_user(Role.RESEARCHER)
    browser = app.test_client()
    sign_in(browser, researcher)
    paths = researcher_paths(app, published)
    assert any(p.startswith("/research/incidents/") for p in paths)
    found, fetched = [], 0
    for path in paths:
        response = browser.get(path)
        assert response.status_code < 500, path
        body = response.get_data(as_text=True)
        fetched += response.status_code == 200
        for marker in published["markers"]:
            # A page may echo the address it was asked for (language links): not a leak.
            if marker.lower() in body.lower() and marker not in path:
                found.append((path, marker))
    assert found == []
    assert fetched > 20


def test_the_published_incidents_really_are_in_the_exports(app, published):
    """The walk above looks at real data: both incidents are there, the agreed excerpt too."""
    researcher = gen_user(Role.RESEARCHER)
    browser = app.test_client()
    sign_in(browser, researcher)
    rows = browser.get("/api/v1/timeline.json").get_json()
    assert sorted(r["id"] for r in rows) == sorted(published["incidents"])
    assert PUBLIC_SUMMARY in {r["summary"] for r in rows}
    assert any(r["has_photo"] for r in rows)


def test_a_hidden_town_cannot_be_found_by_filtering_on_it(app, published):
    researcher = gen_user(Role.RESEARCHER)
    browser = app.test_client()
    sign_in(browser, researcher)
    for query in ("town=zhanaozen", "region=mangystau"):
        body = browser.get(f"/api/v1/incidents?{query}").get_json()
        assert published["hidden"] not in {i["id"] for i in body["incidents"]}, query
    row = next(r for r in browser.get("/api/v1/timeline.json").get_json()
               if r["id"] == published["hidden"])
    assert (row["place_id"], row["latitude"], row["location_precision"]) == (None, None, "none")


def test_a_search_does_not_match_an_excerpt_that_is_not_public(app, published):
    researcher = gen_user(Role.RESEARCHER)
    browser = app.test_client()
    sign_in(browser, researcher)
    assert browser.get("/api/v1/incidents?q=Qx7LEAKSUMMARY").get_json()["total"] == 0
    assert browser.get("/api/v1/incidents?q=every witness agreed").get_json()["total"] == 1


def test_the_custody_ledger_records_each_publication(app, published):
    session = get_session()
    subjects = set(session.scalars(select(CustodyEvent.subject)
                                   .where(CustodyEvent.action == "published")))
    assert subjects == {f"incident:{i}" for i in published["incidents"]}
    assert session.scalar(select(func.count()).select_from(CustodyEvent)) > 4
