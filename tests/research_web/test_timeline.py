"""The researchers' pages and API: filters, paging, small counts, times, languages, 403s."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import Role
from incidents.services.research.public import LocationPrecision, Verification
from incidents.web.db import get_session
from tests.helpers import gen_user
from tests.research_web.factories import gen_incident_row
from tests.web.conftest import sign_in


def test_the_timeline_lists_published_incidents_only(browser: FlaskClient) -> None:
    session = get_session()
    gen_incident_row(session, title="Shown on the timeline")
    gen_incident_row(session, title="Still in review", published=False)
    body = browser.get("/research/").get_data(as_text=True)
    assert "Shown on the timeline" in body
    assert "Still in review" not in body


def test_an_unpublished_incident_page_is_not_found(browser: FlaskClient) -> None:
    hidden = gen_incident_row(get_session(), published=False)
    assert browser.get(f"/research/incidents/{hidden.public_id}").status_code == 404


def test_times_are_shown_in_almaty_with_utc_beside_them(browser: FlaskClient) -> None:
    row = gen_incident_row(get_session(), start_utc=datetime(2022, 1, 5, 20, 30, tzinfo=UTC))
    body = browser.get(f"/research/incidents/{row.public_id}").get_data(as_text=True)
    # UTC+6: the next day in Almaty, the UTC day written out beside it.
    assert "6 January 2022, 02:30 Almaty (5 January 2022, 20:30 UTC)" in body
    assert 'datetime="2022-01-05T20:30:00Z"' in body


@pytest.mark.parametrize(("query", "field"), [
    ("from=2022-13-01", "from"), ("to=yesterday", "to"), ("region=atlantis", "region"),
    ("town=almaty_region", "town"), ("category=riots", "category"), ("tag=x%27", "tag"),
    ("verification=rumour", "verification"), ("has_photo=maybe", "has_photo"),
    ("page=0", "page"), ("per_page=1000", "per_page"), ("sort=id;DROP TABLE incidents", "sort"),
    ("from=2022-01-10&to=2022-01-01", "to"),
])
def test_a_bad_filter_value_is_a_400_naming_the_field(browser: FlaskClient, query: str,
                                                       field: str) -> None:
    response = browser.get(f"/api/v1/incidents?{query}")
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert browser.get(f"/research/?{query}").status_code == 400


def test_sql_injection_in_sort_changes_nothing(browser: FlaskClient) -> None:
    gen_incident_row(get_session())
    assert browser.get("/api/v1/timeline.csv?sort=id;DROP%20TABLE%20incidents").status_code == 400
    assert browser.get("/api/v1/incidents").get_json()["total"] == 1


def test_percent_and_underscore_in_a_search_match_only_themselves(browser: FlaskClient) -> None:
    session = get_session()
    gen_incident_row(session, title="Plain title")
    gen_incident_row(session, title="Rates rose 50%_ overnight")
    assert browser.get("/api/v1/incidents?q=%25_%25").get_json()["total"] == 0
    assert browser.get("/api/v1/incidents?q=50%25_").get_json()["total"] == 1


def test_filters_combine_as_the_reference_filter_does(browser: FlaskClient) -> None:
    session = get_session()
    gen_incident_row(session, title="A", categories=("excessive_force",),
                     tags=("live_ammunition",), has_photo=True, place_id="zhanaozen",
                     region_id="mangystau")
    gen_incident_row(session, title="B", categories=("protest_suppression",),
                     verification=Verification.VERIFIED)
    gen_incident_row(session, title="C", place_id="zhanaozen", region_id="mangystau",
                     location_precision=LocationPrecision.REGION)

    def titles(query: str) -> list[str]:
        body = browser.get(f"/api/v1/incidents?{query}").get_json()
        return sorted(i["title"] for i in body["incidents"])

    assert titles("tag=live_ammunition") == ["A"]
    assert titles("category=protest_suppression,excessive_force&has_photo=no") == ["B", "C"]
    assert titles("verification=verified") == ["B"]
    assert titles("town=zhanaozen") == ["A"]  # C is shown only by region
    assert titles("region=mangystau") == ["A", "C"]


def test_the_list_is_paged(browser: FlaskClient) -> None:
    session = get_session()
    for _ in range(30):
        gen_incident_row(session, commit=False)
    session.commit()
    first = browser.get("/api/v1/incidents?per_page=25").get_json()
    second = browser.get("/api/v1/incidents?per_page=25&page=2").get_json()
    assert (first["total"], len(first["incidents"]), len(second["incidents"])) == (30, 25, 5)
    assert not {i["id"] for i in first["incidents"]} & {i["id"] for i in second["incidents"]}
    page = browser.get("/research/?per_page=25").get_data(as_text=True)
    assert 'rel="next"' in page


def test_chart_and_map_tables_hide_counts_below_the_threshold(browser: FlaskClient) -> None:
    session = get_session()
    for _ in range(3):
        gen_incident_row(session, place_id="almaty_city", region_id="almaty_city",
                         start_utc=datetime(2022, 1, 5, 6, tzinfo=UTC), commit=False)
    gen_incident_row(session, place_id="taraz", region_id="zhambyl",
                     start_utc=datetime(2022, 1, 6, 6, tzinfo=UTC),
                     categories=("detainee_treatment",))
    timeline = browser.get("/research/").get_data(as_text=True)
    assert "<td>3</td>" in timeline
    assert '<td class="suppressed">&lt;3</td>' in timeline
    map_page = browser.get("/research/map").get_data(as_text=True)
    assert '<td class="suppressed">&lt;3</td>' in map_page
    assert 'data-place="taraz"' in map_page
    assert 'data-count="1"' not in map_page


def test_the_threshold_comes_from_the_settings(app_with) -> None:
    app: Flask = app_with(research_min_cell_count=5)
    researcher = gen_user(Role.RESEARCHER)
    for _ in range(4):
        gen_incident_row(get_session())
    client = app.test_client()
    sign_in(client, researcher)
    assert "&lt;5" in client.get("/research/").get_data(as_text=True)


def test_exports_are_streamed_downloads_with_a_server_made_name(browser: FlaskClient) -> None:
    gen_incident_row(get_session(), title="=HYPERLINK(evil)")
    response = browser.get("/research/timeline.csv")
    assert response.is_streamed
    assert response.headers["Content-Disposition"].startswith('attachment; filename="incidents-')
    body = response.get_data(as_text=True)
    assert body.splitlines()[0].startswith("id,title,summary,start_utc,start_local")
    assert "'=HYPERLINK(evil)" in body
    geo = browser.get("/api/v1/timeline.geojson").get_json()
    assert geo["type"] == "FeatureCollection"
    assert len(geo["features"]) == 1


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_the_pages_answer_in_russian_and_kazakh(browser: FlaskClient, language: str) -> None:
    gen_incident_row(get_session(), place_id="almaty_city")
    browser.get(f"/language/{language}?next=/research/")
    body = browser.get("/research/map").get_data(as_text=True)
    assert f'<html lang="{language}">' in body
    assert "Алматы" in body


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR])
def test_witnesses_cannot_reach_the_research_pages(app: Flask, role: Role) -> None:
    client = app.test_client()
    sign_in(client, gen_user(role))
    assert client.get("/research/").status_code == 403
    assert client.get("/api/v1/timeline.csv").status_code == 403
