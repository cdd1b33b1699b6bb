"""The JSON the interactive map and chart read: the SVG's cells and places, nothing finer."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from incidents.models import Role
from incidents.services.research.public import LocationPrecision
from incidents.web.db import get_session
from tests.helpers import gen_user
from tests.research_web.factories import gen_incident_row
from tests.web.conftest import sign_in

JAN5 = datetime(2022, 1, 5, 6, tzinfo=UTC)
JAN6 = datetime(2022, 1, 6, 6, tzinfo=UTC)


@pytest.fixture
def small_and_large() -> None:
    """Almaty 3 on 5 January (shown), Taraz 1 on 6 January (hidden), and an exact point.

    Two of Almaty's carry the region-status city's id, one the town's: one place, one point."""
    session = get_session()
    for place_id in ("almaty_city", "almaty_city", "almaty"):
        gen_incident_row(session, place_id=place_id, region_id="almaty_city",
                         start_utc=JAN5, commit=False)
    gen_incident_row(session, place_id="taraz", region_id="zhambyl", start_utc=JAN6,
                     categories=("detainee_treatment",), commit=False)
    # Exact precision: the map still puts it at its town, never at a finer point.
    gen_incident_row(session, place_id="zhanaozen", region_id="mangystau", start_utc=JAN6,
                     location_precision=LocationPrecision.EXACT)


def _chart(body: str) -> dict:
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', body,
                      re.S)
    assert found, "no chart data block"
    return json.loads(found.group(1))


def test_the_map_json_hides_a_small_count_as_the_table_does(
        browser: FlaskClient, small_and_large: None) -> None:
    data = browser.get("/research/map.json").get_json()
    points = {p["place"]: p for p in data["points"]}
    assert "almaty_city" not in points  # the city and the town are one point
    assert points["almaty"]["count"] == 3
    assert points["almaty"]["text"] == "3"
    assert (points["taraz"]["count"], points["taraz"]["text"]) == (None, "<3")
    assert (points["zhanaozen"]["count"], points["zhanaozen"]["text"]) == (None, "<3")
    assert points["taraz"]["filter"] == ["town", "taraz"]
    assert data["threshold"] == 3
    assert "1" not in {str(p["count"]) for p in data["points"]}


def test_the_map_json_places_are_gazetteer_points_never_finer(
        browser: FlaskClient, small_and_large: None) -> None:
    data = browser.get("/research/map.json").get_json()
    zhanaozen = next(p for p in data["points"] if p["place"] == "zhanaozen")
    assert (zhanaozen["lat"], zhanaozen["lon"], zhanaozen["precision"]) == (
        43.3412, 52.8619, "town")
    assert set(zhanaozen) == {"place", "name", "precision", "lat", "lon", "count", "text",
                              "filter"}


def test_the_map_json_follows_the_filters_and_the_language(
        browser: FlaskClient, small_and_large: None) -> None:
    only_5th = browser.get("/research/map.json?from=2022-01-05&to=2022-01-05").get_json()
    assert [p["place"] for p in only_5th["points"]] == ["almaty"]
    # The point's own filter finds all three, whichever of Almaty's ids they carry.
    town = browser.get("/research/map.json?town=almaty").get_json()
    assert [(p["place"], p["count"]) for p in town["points"]] == [("almaty", 3)]
    browser.get("/language/kk?next=/research/")
    assert browser.get("/research/map.json").get_json()["points"][0]["name"] == "Алматы"
    assert browser.get("/research/map.json?town=atlantis").status_code == 400


def test_the_chart_block_holds_no_hidden_count(
        browser: FlaskClient, small_and_large: None) -> None:
    chart = _chart(browser.get("/research/").get_data(as_text=True))
    assert [d["date"] for d in chart["days"]] == ["2022-01-05", "2022-01-06"]
    categories = [c["id"] for c in chart["categories"]]
    force = categories.index("excessive_force")
    detainees = categories.index("detainee_treatment")
    assert chart["cells"][0][force] == 3
    assert chart["cells"][1][detainees] is None  # Taraz's one incident
    assert chart["cells"][1][force] is None  # Zhanaozen's one
    assert not any(n in (1, 2) for row in chart["cells"] for n in row)


def test_the_tables_link_each_place_and_day_to_its_incidents(
        browser: FlaskClient, small_and_large: None) -> None:
    map_page = browser.get("/research/map?verification=reported").get_data(as_text=True)
    assert '<a href="/research/?town=taraz&amp;verification=reported">' in map_page
    timeline = browser.get("/research/").get_data(as_text=True)
    assert '<a href="/research/?from=2022-01-06&amp;to=2022-01-06">' in timeline
    listed = browser.get("/research/?town=taraz").get_data(as_text=True)
    assert listed.count('href="/research/incidents/') == 1


def test_the_outline_is_served_for_the_map(browser: FlaskClient) -> None:
    response = browser.get("/research/kazakhstan.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert response.get_json()["type"] == "FeatureCollection"


@pytest.mark.parametrize("path", ["/research/map.json", "/research/kazakhstan.geojson"])
def test_the_map_data_is_for_readers_only(app, path: str) -> None:  # noqa: ANN001
    anonymous = app.test_client()
    assert anonymous.get(path).status_code in (302, 401)
    witness = app.test_client()
    sign_in(witness, gen_user(Role.CONTRIBUTOR))
    assert witness.get(path).status_code == 403
