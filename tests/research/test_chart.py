"""The day-by-day chart: well-formed, self-contained, accessible SVG with the right bars."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from incidents.core.errors import InvalidInput
from incidents.services.research.chart import (
    MAX_DAYS,
    PLOT_HEIGHT,
    chart_table,
    daily_counts,
    nice_ceiling,
    render_chart,
)
from tests.research.factories import gen_incident
from tests.research.svg_checks import SVG, assert_accessible, assert_self_contained, parse

CATEGORIES = ("detainee_treatment", "excessive_force", "protest_suppression")
LABELS = {"detainee_treatment": "Detainees", "excessive_force": "Force",
          "protest_suppression": "Protest"}
START, END = date(2022, 1, 4), date(2022, 1, 8)


def on(day: int, *categories: str) -> object:
    return gen_incident(start_utc=datetime(2022, 1, day, 6, 0, tzinfo=UTC),
                        categories=categories)


# Jan 5: 3 detainee + 1 force; Jan 6: 5 protest; Jan 7: 2 detainee (one also force).
INCIDENTS = (
    [on(5, "detainee_treatment") for _ in range(3)] + [on(5, "excessive_force")]
    + [on(6, "protest_suppression") for _ in range(5)]
    + [on(7, "detainee_treatment"), on(7, "detainee_treatment", "excessive_force")]
)


def render(threshold: int | None = None, title: str = "Incidents per day") -> str:
    data = daily_counts(INCIDENTS, START, END, CATEGORIES)
    return render_chart(data, title=title, description="Stacked bars by category.",
                        labels=LABELS, threshold=threshold)


def day_groups(svg: str) -> dict[str, list[tuple[str, str, float]]]:
    root = parse(svg)
    groups = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "day":
            groups[g.get("data-day")] = [
                (r.get("data-category"), r.get("data-count"), float(r.get("height")))
                for r in g.findall(f"{SVG}rect")]
    return groups


def test_the_chart_is_well_formed_self_contained_and_accessible() -> None:
    root = parse(render())
    assert_self_contained(root)
    assert_accessible(root)


def test_the_chart_has_one_bar_group_per_day_of_the_range() -> None:
    assert list(day_groups(render())) == [f"2022-01-0{d}" for d in range(4, 9)]


def test_bar_heights_are_proportional_to_the_counts() -> None:
    groups = day_groups(render())
    unit = PLOT_HEIGHT / nice_ceiling(5)  # the busiest day has 5
    assert groups["2022-01-04"] == []
    assert groups["2022-01-05"] == [("detainee_treatment", "3", pytest.approx(3 * unit, abs=.01)),
                                    ("excessive_force", "1", pytest.approx(1 * unit, abs=.01))]
    assert groups["2022-01-06"] == [("protest_suppression", "5", pytest.approx(PLOT_HEIGHT))]
    assert [(c, n) for c, n, _ in groups["2022-01-07"]] == [("detainee_treatment", "2"),
                                                          ("excessive_force", "1")]


def test_days_are_counted_in_almaty_time() -> None:
    late = gen_incident(start_utc=datetime(2022, 1, 4, 19, 0, tzinfo=UTC))  # 01:00 on the 5th
    data = daily_counts([late], START, END, CATEGORIES)
    assert data.counts[data.days.index(date(2022, 1, 5))][2] == 1


def test_a_hostile_title_is_escaped_not_run() -> None:
    root = parse(render(title='<script>alert(1)</script>" onload="x'))
    assert_self_contained(root)
    assert root.find(f"{SVG}title").text == '<script>alert(1)</script>" onload="x'


def test_with_a_threshold_small_segments_are_drawn_as_fewer_than_never_as_zero() -> None:
    svg = render(threshold=3)
    groups = day_groups(svg)
    three, fewer = groups["2022-01-05"]
    assert three[:2] == ("detainee_treatment", "3")
    # The hidden count (1 or 2) stands as one fixed block: present, but not measurable.
    assert fewer[1] == "<3"
    assert fewer[2] == pytest.approx(three[2] / 3)
    # Two hidden counts (2 and 1) look the same: which is larger is not shown either.
    assert [(said, round(h, 2)) for _c, said, h in groups["2022-01-07"]] == [
        ("<3", round(three[2] / 3, 2))] * 2
    tips = [g.find(f"{SVG}title").text for g in parse(svg).iter(f"{SVG}g")
            if g.get("data-day") == "2022-01-07"]
    assert "Detainees <3" in tips[0]
    assert "2" not in tips[0].split(":", 1)[1]


def test_the_hidden_blocks_say_fewer_than_in_the_readers_words() -> None:
    data = daily_counts(INCIDENTS, START, END, CATEGORIES)
    svg = render_chart(data, title="t", description="d", labels=LABELS, threshold=3,
                       fewer_text="меньше 3")
    assert "Detainees меньше 3" in svg
    assert 'data-count="0"' not in svg


def test_the_table_beside_the_chart_hides_small_cells() -> None:
    table = chart_table(daily_counts(INCIDENTS, START, END, CATEGORIES))
    by_day = {row.day.isoformat(): [c.text for c in row.cells] for row in table.rows}
    assert by_day["2022-01-05"] == ["3", "<3", "0"]
    assert by_day["2022-01-06"] == ["0", "0", "5"]


def test_a_range_longer_than_the_chart_allows_names_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        daily_counts([], date(2020, 1, 1), date(2020, 1, 1).replace(year=2023), CATEGORIES)
    assert caught.value.field == "to"
    assert MAX_DAYS < 3 * 365
