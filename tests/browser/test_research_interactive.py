"""The researchers' interactive map and timeline in Chromium, on demo-like data.

The map (Leaflet and markercluster from npm, served from static/vendor/) clusters places and
leads from a cluster to an incident's page; dragging across the timeline narrows the list,
the map and the URL; nothing the Content-Security-Policy refuses is ever tried; without
JavaScript the server's SVG views stay; a place with fewer than 3 incidents reads "<3" on the
map, and the JSON the page reads never holds such a count.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from incidents.models import Role
from incidents.services.gazetteer import load_gazetteer
from incidents.services.research.public import LocationPrecision
from incidents.web.db import get_session
from tests.browser.world import World, signed_in
from tests.helpers import gen_user
from tests.research_web.factories import gen_incident_row

pytestmark = pytest.mark.browser

VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor" / "leaflet" / "leaflet.js"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
DAY0 = datetime(2022, 1, 3, 6, 0, tzinfo=UTC)  # 12:00 in Almaty
# place -> (incidents per day over 8 days, categories): Almaty busy, Taraz one (hidden).
PLAN: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "almaty_city": ((0, 2, 6, 5, 3, 2, 1, 1), ("excessive_force", "protest_suppression")),
    "taldykorgan": ((0, 0, 1, 2, 0, 0, 0, 0), ("protest_suppression",)),
    "zhanaozen": ((3, 2, 1, 0, 0, 0, 0, 1), ("protest_suppression",)),
    "aktau": ((1, 2, 1, 0, 0, 0, 0, 0), ("excessive_force",)),
    "shymkent_city": ((0, 0, 2, 2, 1, 0, 0, 0), ("excessive_force",)),
    "taraz": ((0, 0, 0, 1, 0, 0, 0, 0), ("excessive_force",)),
}
# Records what the page's CSP refuses, before any of the page's own scripts run.
WATCH_CSP = """
window.__refused = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__refused.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
});
"""

# What the map shows: the text of every marker and cluster, in order.
MARKERS = ("() => [...document.querySelectorAll('.leaflet-marker-icon')]"
           ".map(m => m.textContent).sort().join('|')")

# Leaflet's zoom and markercluster's regrouping have ended.
STILL = "() => !document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim')"


@pytest.fixture
def demo(live_app: Flask, live_server: str) -> World:
    if not VENDOR.exists():
        if os.environ.get("CI"):
            pytest.fail("Leaflet is missing from static/vendor: run `make assets`")
        pytest.skip("Leaflet is not installed (`make assets` copies it to static/vendor)")
    session = get_session()
    gazetteer = load_gazetteer()
    for place_id, (per_day, categories) in PLAN.items():
        place = gazetteer.get(place_id)
        assert place is not None
        for day, count in enumerate(per_day):
            for k in range(count):
                gen_incident_row(
                    session, title=f"{place.name('en')} day {day + 1} no. {k + 1}",
                    place_id=place_id, region_id=place.region, categories=categories,
                    start_utc=DAY0 + timedelta(days=day, minutes=k))
    # Three incidents known only by their region (Mangystau): a dashed point at its centre.
    for k in range(3):
        gen_incident_row(session, title=f"Mangystau region no. {k + 1}", place_id="zhanaozen",
                         region_id="mangystau", location_precision=LocationPrecision.REGION,
                         start_utc=DAY0 + timedelta(days=1, hours=k))
    return World(live_server, {"researcher": gen_user(Role.RESEARCHER, pseudonym="rsrch")})


def _open(chromium: Any, app: Flask, world: World, path: str, **options: Any) -> Any:
    context = signed_in(chromium, app, world, "researcher", **options)
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(world.server + path)
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _assert_nothing_refused(page: Any) -> None:
    assert page.evaluate("() => window.__refused") == []
    # Chromium sometimes asks for /favicon.ico although the page names its SVG icon; that
    # 404 is the browser's, not these pages'.
    assert [e for e in page.errors if not e.endswith("/favicon.ico")] == []


def _wait_until_it_stays_put(page: Any, locator: Any) -> None:
    """Until the element's box is the same over three looks 100 ms apart: a popup pans into
    view after its list arrives, and on a busy machine that pan can outlast Playwright's own
    two-frame stability check, so a click lands where the link was."""
    boxes: list[Any] = []
    for _ in range(50):
        boxes = [*boxes[-2:], locator.bounding_box()]
        if len(boxes) == 3 and boxes[0] == boxes[1] == boxes[2]:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the element kept moving: {boxes}")


def test_the_map_clusters_places_and_a_cluster_leads_to_an_incident(chromium, live_app, demo):
    page = _open(chromium, live_app, demo, "/research/map", locale="en-GB")
    try:
        page.wait_for_selector(".map-cluster")
        assert page.locator("figure.map").is_hidden()  # the SVG gives way to the live map
        # At the country's zoom Zhanaozen and Aktau are one cluster; clicking it zooms in
        # until the towns stand apart.
        shown = page.evaluate(MARKERS)
        page.locator(".map-cluster").first.click()
        page.wait_for_function(f"before => ({MARKERS})() !== before", arg=shown)
        page.wait_for_function(STILL)
        page.get_by_role("button", name="Zhanaozen", exact=True).click()
        popup = page.locator(".leaflet-popup-content")
        popup.get_by_text("Incidents: 7").wait_for()
        link = popup.locator("a[href^='/research/incidents/']").first
        link.wait_for()
        title = link.inner_text()
        assert title.startswith("Zhanaozen day")
        page.wait_for_function(STILL)
        _wait_until_it_stays_put(page, link)  # the popup's pan into view moves the link
        link.click()
        page.wait_for_url("**/research/incidents/*")
        assert page.locator("h1").inner_text() == title
        _assert_nothing_refused(page)
    finally:
        page.context.close()


def test_a_cluster_is_reached_and_opened_from_the_keyboard(chromium, live_app, demo):
    page = _open(chromium, live_app, demo, "/research/map", locale="en-GB")
    try:
        page.wait_for_selector(".map-cluster")
        shown = page.evaluate(MARKERS)
        page.locator(".map-cluster").first.focus()
        page.keyboard.press("Enter")
        page.wait_for_function(f"before => ({MARKERS})() !== before", arg=shown)
        _assert_nothing_refused(page)
    finally:
        page.context.close()


def test_brushing_the_timeline_narrows_the_list_the_map_and_the_url(chromium, live_app, demo):
    page = _open(chromium, live_app, demo, "/research/?per_page=100", locale="en-GB")
    try:
        page.wait_for_selector(".interactive-chart svg")
        page.wait_for_selector(".map-cluster, .map-point")
        assert page.locator("figure.chart").is_hidden()
        rows = page.locator("#incident-list table.incidents tbody tr")
        assert rows.count() == 43
        page.locator(".chart-box svg").scroll_into_view_if_needed()
        box = page.locator(".chart-box svg").bounding_box()
        assert box is not None
        days = 8
        left = 34 * box["width"] / page.evaluate(
            "() => document.querySelector('.chart-box svg').viewBox.baseVal.width")
        band = (box["width"] - left) / days
        y = box["y"] + box["height"] / 2
        # Drag from the 3rd day (5 January) to the 4th (6 January).
        page.mouse.move(box["x"] + left + band * 2.5, y)
        page.mouse.down()
        page.mouse.move(box["x"] + left + band * 3.2, y, steps=5)
        page.mouse.move(box["x"] + left + band * 3.5, y, steps=5)
        page.mouse.up()
        page.wait_for_url("**from=2022-01-05&to=2022-01-06**")
        page.wait_for_function(
            "() => document.querySelectorAll('#incident-list tbody tr').length === 21")
        titles = page.locator("#incident-list tbody tr a").all_inner_texts()
        assert all(" day 3 " in t or " day 4 " in t for t in titles), titles
        assert page.locator("form.filters-form input[name=from]").input_value() == "2022-01-05"
        assert page.locator("form.filters-form input[name=to]").input_value() == "2022-01-06"
        assert "21 incidents match" in page.locator("#incident-count").inner_text()
        # The map follows: Aktau had incidents on those days, Zhanaozen one only.
        page.wait_for_function("""() => [...document.querySelectorAll('.leaflet-marker-icon')]
            .some(m => m.textContent.includes('<3'))""")
        # The URL reloads to the same view without JavaScript's help.
        assert "from=2022-01-05" in page.url
        _assert_nothing_refused(page)
    finally:
        page.context.close()


def test_the_keyboard_chooses_dates_on_the_timeline(chromium, live_app, demo):
    page = _open(chromium, live_app, demo, "/research/", locale="en-GB")
    try:
        page.wait_for_selector(".interactive-chart svg")
        page.locator(".chart-box").focus()
        page.keyboard.press("ArrowRight")  # from the first day to the second, then one more
        page.keyboard.press("Shift+ArrowRight")
        page.wait_for_url("**from=2022-01-04&to=2022-01-05**")
        page.wait_for_function(
            "() => document.querySelectorAll('#incident-list tbody tr').length === 20")
        page.keyboard.press("Escape")
        page.wait_for_function("() => !location.search.includes('from=')")
        _assert_nothing_refused(page)
    finally:
        page.context.close()


def test_unticking_a_category_filters_the_chart_and_the_list(chromium, live_app, demo):
    page = _open(chromium, live_app, demo, "/research/?per_page=100", locale="en-GB")
    try:
        page.wait_for_selector(".interactive-chart svg")
        page.locator(".chart-legend").get_by_label("Excessive use of force").uncheck()
        page.wait_for_url("**category=protest_suppression**")
        page.wait_for_function(
            "() => document.querySelectorAll('#incident-list tbody tr').length === 30")
        assert page.locator(".chart-box rect[data-category=excessive_force]").count() == 0
        _assert_nothing_refused(page)
    finally:
        page.context.close()


def test_a_place_with_fewer_than_3_reads_so_and_its_count_is_never_sent(
        chromium, live_app, demo):
    page = _open(chromium, live_app, demo, "/research/map", locale="ru-RU")
    try:
        page.wait_for_selector(".map-point, .map-cluster")
        answer = page.request.get(demo.server + "/research/map.json")
        assert answer.ok
        data = answer.json()
        by_place = {p["place"]: p for p in data["points"]}
        assert by_place["taraz"]["count"] is None
        assert by_place["taraz"]["text"] == "<3"
        assert by_place["almaty"]["count"] == 20
        assert all(p["count"] is None or p["count"] >= 3 for p in data["points"])
        # Zoomed to Taraz: its marker says "<3", its popup "fewer than 3" in Russian.
        page.get_by_role("button", name="Тараз", exact=True).click()
        taraz = page.locator(".map-point-fewer", has_text="Тараз")
        assert taraz.inner_text().startswith("<3")
        popup = page.locator(".leaflet-popup-content")
        popup.get_by_text("Инцидентов: меньше 3").wait_for()

        page.goto(demo.server + "/research/")
        page.wait_for_selector(".interactive-chart svg")
        chart = json.loads(page.locator("#chart-data").text_content() or "")
        cells = [n for row in chart["cells"] for n in row]
        assert None in cells  # the small ones are there, as hidden cells
        assert not any(n in (1, 2) for n in cells)
        assert page.locator(".chart-box rect.fewer").count() == cells.count(None)
        _assert_nothing_refused(page)
    finally:
        page.context.close()


def test_without_javascript_the_svg_views_stay(chromium, live_app, demo):
    context = signed_in(chromium, live_app, demo, "researcher", locale="ru-RU",
                        javascript=False)
    page = context.new_page()
    try:
        page.goto(demo.server + "/research/map")
        assert page.locator("figure.map svg circle").count() >= 6
        assert page.locator(".interactive-map-wrap").is_hidden()
        page.goto(demo.server + "/research/")
        assert page.locator("figure.chart svg rect.fewer").count() > 0
        assert page.locator(".interactive-chart").is_hidden()
        assert page.locator(".timeline-map").is_hidden()
        assert page.locator("#incident-list tbody tr a").count() == 43
        # Still everything leads to an incident: a place in the map's table, then its list.
        page.goto(demo.server + "/research/map")
        page.locator("table.map-table").get_by_role("link", name="Тараз").click()
        page.get_by_role("link", name="Taraz day 4 no. 1").click()
        assert page.locator("h1").inner_text() == "Taraz day 4 no. 1"
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_live_views_fit_the_screen_and_pass_axe(chromium, live_app, demo, width):
    if not AXE.exists():
        pytest.skip("axe-core is not installed (`make assets` installs it)")
    source = AXE.read_text(encoding="utf-8")
    found: list[str] = []
    for locale in ("ru-RU", "kk-KZ", "en-GB"):
        for path in ("/research/", "/research/map"):
            page = _open(chromium, live_app, demo, path, locale=locale, width=width,
                         height=844 if width == 390 else 900)
            try:
                page.wait_for_selector(".map-cluster, .map-point")
                wide = page.evaluate("() => document.documentElement.scrollWidth"
                                     " - document.documentElement.clientWidth")
                if wide > 0:
                    found.append(f"{locale} {path}: {wide} px sideways")
                page.evaluate(source)
                found += [f"{locale} {path}: {v}" for v in page.evaluate("""async () => {
                    const r = await axe.run(document, {resultTypes: ['violations']});
                    return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                      .map(v => v.id + ' ' + v.nodes.slice(0, 3).map(n => n.target).join(' | '));
                }""")]
                _assert_nothing_refused(page)
            finally:
                page.context.close()
    assert found == [], "\n".join(found)
