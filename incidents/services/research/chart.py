"""The timeline chart: incidents per day and category, as a stacked bar chart in SVG.

Rendered on the server, readable without JavaScript; `chart_table` gives the same numbers
as a text table for the template to print beside it (screen readers, copying). An incident
counts once in each of its categories, on the day it started in the display time zone
(Asia/Almaty by default), so a day's bar can be taller than its number of incidents.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from incidents.core.errors import N_, InvalidInput
from incidents.services.research.public import PublicIncident
from incidents.services.research.suppress import (
    DEFAULT_THRESHOLD,
    Cell,
    hidden_text,
    is_small,
    suppress,
)
from incidents.services.research.svg import PALETTE, number, open_svg, text

DISPLAY_ZONE = "Asia/Almaty"
MAX_DAYS = 732  # two years a chart; longer ranges are for the exports
PLOT_HEIGHT = 200.0
PLOT_WIDTH = 720.0
LEFT, TOP, RIGHT = 44.0, 34.0, 12.0
BOTTOM = 40.0
MAX_X_LABELS = 12


@dataclass(frozen=True, slots=True)
class DailyCounts:
    """`counts[d][c]`: incidents of category `categories[c]` that started on `days[d]`."""

    categories: tuple[str, ...]
    days: tuple[date, ...]
    counts: tuple[tuple[int, ...], ...]

    def total(self, day_index: int) -> int:
        return sum(self.counts[day_index])


def day_range(start: date, end: date) -> tuple[date, ...]:
    if end < start:
        raise InvalidInput(N_("The end date is before the start date."), field="to")
    length = (end - start).days + 1
    if length > MAX_DAYS:
        raise InvalidInput(N_("Choose at most %(days)s days for the chart."), field="to",
                           days=MAX_DAYS)
    return tuple(start + timedelta(days=i) for i in range(length))


def daily_counts(incidents: Iterable[PublicIncident], start: date, end: date,
                 categories: Sequence[str], zone: str = DISPLAY_ZONE) -> DailyCounts:
    """Count incidents per local start day and category over [start, end] (both included)."""
    days = day_range(start, end)
    tz = ZoneInfo(zone)
    column = {c: j for j, c in enumerate(categories)}
    grid = [[0] * len(categories) for _ in days]
    for incident in incidents:
        offset = (incident.start_utc.astimezone(tz).date() - start).days
        if not 0 <= offset < len(days):
            continue
        for category in incident.categories:
            if category in column:
                grid[offset][column[category]] += 1
    return DailyCounts(tuple(categories), days, tuple(tuple(row) for row in grid))


def nice_ceiling(value: int) -> int:
    """The axis top: the smallest 1, 2 or 5 × 10^k at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # unreachable: step 10 always fits


@dataclass(frozen=True, slots=True)
class ChartRow:
    day: date
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class ChartTable:
    """The chart's numbers for the text table: one row per day, one cell per category."""

    categories: tuple[str, ...]
    rows: tuple[ChartRow, ...]


def chart_table(data: DailyCounts, threshold: int = DEFAULT_THRESHOLD) -> ChartTable:
    """Per-day, per-category cells with counts below `threshold` hidden.

    No per-day total is given: an incident in two categories would be counted twice, and a
    total beside a hidden cell would give it back.
    """
    rows = tuple(ChartRow(day, tuple(suppress(c, threshold) for c in counts))
                 for day, counts in zip(data.days, data.counts, strict=True))
    return ChartTable(data.categories, rows)


def render_chart(data: DailyCounts, *, title: str, description: str,
                 labels: Mapping[str, str], day_label: Callable[[date], str] | None = None,
                 threshold: int | None = None, id_prefix: str = "timeline-chart",
                 fewer_text: str | None = None) -> str:
    """The chart as an SVG string, to be inserted with `|safe` (everything in it is escaped).

    `labels` maps category ids to display names; `day_label` formats axis dates (in the
    reader's language). With `threshold`, a segment below it is drawn as a hatched block
    of one fixed height whatever its count ("fewer than 3", never zero and never its size),
    and the day's tooltip says `fewer_text` ("<threshold" by default), matching the table.
    """
    label_of = day_label or (lambda d: d.strftime("%m-%d"))
    n_days = len(data.days)
    band = PLOT_WIDTH / max(n_days, 1)
    bar = max(band * 0.8, 0.5)

    def shown(count: int) -> bool:
        return count > 0 and not (threshold is not None and is_small(count, threshold))

    def hidden(count: int) -> bool:
        return threshold is not None and is_small(count, threshold)

    # A hidden segment stands as tall as a count of 1 would: the block says "some", not how
    # many. The scale leaves room for it.
    top = nice_ceiling(max(
        (sum(c if shown(c) else 1 if hidden(c) else 0 for c in row) for row in data.counts),
        default=0))
    unit = PLOT_HEIGHT / top
    said_hidden = fewer_text or (hidden_text(threshold) if threshold is not None else "")
    width, height = LEFT + PLOT_WIDTH + RIGHT, TOP + PLOT_HEIGHT + BOTTOM
    base = TOP + PLOT_HEIGHT
    out = [open_svg(id_prefix, width, height, title, description, "timeline-chart")]
    hatch = f"{id_prefix}-hatch"
    out.append(f'<defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse"'
               ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
               '<line x1="0" y1="0" x2="0" y2="6" stroke="#555" stroke-width="2"/>'
               '</pattern></defs>')

    # Legend, one swatch per category, above the plot.
    x = LEFT
    out.append('<g class="legend" aria-hidden="true">')
    for j, category in enumerate(data.categories):
        name = labels.get(category, category)
        out.append(f'<rect x="{number(x)}" y="8" width="12" height="12" '
                   f'fill="{PALETTE[j % len(PALETTE)]}"/>'
                   f'<text x="{number(x + 16)}" y="18" font-size="12">{text(name)}</text>')
        x += 16 + 7 * len(name) + 20
    out.append("</g>")

    # Axes: three horizontal guides with their values, and the baseline.
    out.append('<g class="axis" aria-hidden="true">')
    for value in sorted({0, top // 2, top}):
        y = base - value * unit
        out.append(f'<line x1="{number(LEFT)}" x2="{number(LEFT + PLOT_WIDTH)}" '
                   f'y1="{number(y)}" y2="{number(y)}" stroke="#ccc" stroke-width="1"/>'
                   f'<text x="{number(LEFT - 6)}" y="{number(y + 4)}" font-size="11" '
                   f'text-anchor="end">{value}</text>')
    step = max(1, math.ceil(n_days / MAX_X_LABELS))
    for i in range(0, n_days, step):
        cx = LEFT + band * (i + 0.5)
        out.append(f'<text x="{number(cx)}" y="{number(base + 16)}" font-size="11" '
                   f'text-anchor="middle">{text(label_of(data.days[i]))}</text>')
    out.append("</g>")

    # One group per day, segments stacked from the baseline in category order.
    out.append('<g class="bars">')
    for i, (day, counts) in enumerate(zip(data.days, data.counts, strict=True)):
        parts = []
        for category, count in zip(data.categories, counts, strict=True):
            said = said_hidden if hidden(count) else str(count)
            parts.append(f"{labels.get(category, category)} {said}")
        tip = f"{label_of(day)}: " + ", ".join(parts)
        out.append(f'<g class="day" data-day="{day.isoformat()}"><title>{text(tip)}</title>')
        x = LEFT + band * i + (band - bar) / 2
        y = base
        for j, (category, count) in enumerate(zip(data.categories, counts, strict=True)):
            if hidden(count):
                h = unit
                y -= h
                out.append(f'<rect class="fewer" x="{number(x)}" y="{number(y)}" '
                           f'width="{number(bar)}" height="{number(h)}" fill="url(#{hatch})" '
                           f'stroke="{PALETTE[j % len(PALETTE)]}" stroke-width="1.5" '
                           f'data-category="{text(category)}" data-count="{text(said_hidden)}"/>')
                continue
            if not shown(count):
                continue
            h = count * unit
            y -= h
            out.append(f'<rect x="{number(x)}" y="{number(y)}" width="{number(bar)}" '
                       f'height="{number(h)}" fill="{PALETTE[j % len(PALETTE)]}" '
                       f'data-category="{text(category)}" data-count="{count}"/>')
        out.append("</g>")
    out.append("</g>")
    out.append(f'<line x1="{number(LEFT)}" x2="{number(LEFT + PLOT_WIDTH)}" y1="{number(base)}"'
               f' y2="{number(base)}" stroke="#333" stroke-width="1" aria-hidden="true"/>')
    out.append("</svg>")
    return "".join(out)
