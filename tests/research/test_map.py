"""The map: well-formed, self-contained SVG; one circle per place; never finer than consent."""

from __future__ import annotations

import pytest

from incidents.services.gazetteer import load_gazetteer
from incidents.services.research.map import CREDIT, aggregate, load_outline, map_table, render_map
from incidents.services.research.public import LocationPrecision
from tests.research.factories import gen_incident, gen_place
from tests.research.svg_checks import SVG, assert_accessible, assert_self_contained, parse

ZHANAOZEN_POINT = (43.3001, 52.7999)
INCIDENTS = (
    [gen_incident(place=gen_place("almaty")) for _ in range(4)]
    + [gen_incident(place=gen_place("zhanaozen", LocationPrecision.EXACT, ZHANAOZEN_POINT))]
    + [gen_incident(place=gen_place("taraz", LocationPrecision.REGION)) for _ in range(2)]
    + [gen_incident(place=gen_place("oskemen", LocationPrecision.NONE))]
)


def render(threshold: int | None = None) -> str:
    data = aggregate(INCIDENTS, load_gazetteer())
    return render_map(data, title="Incidents by place", description="Circles by count.",
                      threshold=threshold)


def circles(svg: str) -> dict[str, dict[str, str]]:
    return {c.get("data-place"): c.attrib for c in parse(svg).iter(f"{SVG}circle")}


def projected(place_id: str) -> tuple[float, float]:
    place = load_gazetteer().get(place_id)
    assert place is not None
    return load_outline().frame.project(place.lon, place.lat)


def test_the_map_is_well_formed_self_contained_and_accessible() -> None:
    root = parse(render())
    assert_self_contained(root)
    assert_accessible(root)


def test_the_map_credits_natural_earth() -> None:
    assert CREDIT in render()


def test_there_is_one_circle_per_place_with_incidents() -> None:
    found = circles(render())
    assert set(found) == {"almaty", "zhanaozen", "zhambyl"}
    assert found["almaty"]["data-count"] == "4"


def test_every_circle_is_inside_the_outline_bounding_box() -> None:
    frame = load_outline().frame
    lon_lat = [(frame.lon_min, frame.lat_max), (frame.lon_max, frame.lat_min)]
    (x0, y0), (x1, y1) = (frame.project(*p) for p in lon_lat)
    for attrs in circles(render()).values():
        assert x0 <= float(attrs["cx"]) <= x1
        assert y0 <= float(attrs["cy"]) <= y1


def test_a_region_precision_incident_is_drawn_at_the_region_centroid() -> None:
    found = circles(render())
    assert "taraz" not in found
    assert found["zhambyl"]["data-precision"] == "region"
    assert (float(found["zhambyl"]["cx"]), float(found["zhambyl"]["cy"])) == pytest.approx(
        projected("zhambyl"), abs=0.01)


def test_an_exact_incident_is_drawn_at_its_town_never_at_its_point() -> None:
    attrs = circles(render())["zhanaozen"]
    position = (float(attrs["cx"]), float(attrs["cy"]))
    assert position == pytest.approx(projected("zhanaozen"), abs=0.01)
    point = load_outline().frame.project(ZHANAOZEN_POINT[1], ZHANAOZEN_POINT[0])
    assert position != pytest.approx(point, abs=0.01)


def test_an_incident_whose_place_may_not_be_shown_is_only_counted() -> None:
    data = aggregate(INCIDENTS, load_gazetteer())
    assert data.unplaced == 1
    assert "oskemen" not in render()


def test_with_a_threshold_small_places_show_no_count() -> None:
    found = circles(render(threshold=3))
    assert "data-count" not in found["zhambyl"]
    tips = [c.find(f"{SVG}title").text for c in parse(render(threshold=3)).iter(f"{SVG}circle")]
    assert any(t.endswith(": <3") for t in tips)
    assert not any(t.endswith((": 1", ": 2")) for t in tips)


def test_the_table_beside_the_map_hides_small_counts() -> None:
    rows = map_table(aggregate(INCIDENTS, load_gazetteer()), "ru")
    assert [(r.place_id, r.cell.text) for r in rows] == [
        ("almaty", "4"), ("zhambyl", "<3"), ("zhanaozen", "<3")]
    assert rows[0].name == "Алматы"


def test_every_gazetteer_place_projects_inside_the_outline_bounding_box() -> None:
    frame = load_outline().frame
    for place in load_gazetteer().places:
        assert frame.lon_min <= place.lon <= frame.lon_max, place.id
        assert frame.lat_min <= place.lat <= frame.lat_max, place.id
