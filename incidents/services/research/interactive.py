"""What the interactive chart and map read (JSON): the same cells the SVGs and tables show.

The browser gets nothing the server-drawn views hide: a count from 1 to threshold - 1 is
`null` with the text "<3", never its number; a place is a gazetteer town or region point
(the place an incident may be shown at), never anything finer; no totals are given beside a
hidden cell. The pages embed the chart's data in a `<script type="application/json">` block
(not executed, so the Content-Security-Policy allows it) and fetch the map's from
`/research/map.json`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from incidents.services.research.chart import DailyCounts
from incidents.services.research.map import MapData
from incidents.services.research.public import LocationPrecision
from incidents.services.research.suppress import suppress
from incidents.services.research.svg import PALETTE


def chart_data(data: DailyCounts, *, labels: Mapping[str, str],
               day_label: Callable[[date], str], threshold: int) -> dict[str, Any]:
    """Days (ISO date and a label in the reader's language), categories, and cells.

    `cells[d][c]` is the count of category c on day d, or None when it is hidden.
    """
    return {
        "threshold": threshold,
        "days": [{"date": day.isoformat(), "label": day_label(day)} for day in data.days],
        "categories": [{"id": c, "label": labels.get(c, c), "colour": PALETTE[j % len(PALETTE)]}
                       for j, c in enumerate(data.categories)],
        "cells": [[suppress(n, threshold).count for n in row] for row in data.counts],
    }


def map_points(data: MapData, *, language: str, threshold: int) -> dict[str, Any]:
    """One entry per drawn place: where, what it is called, its count or None, and the
    filter that lists its incidents (`town=` a town or city, `region=` a region)."""
    points = []
    for point in data.points:
        cell = suppress(point.count, threshold)
        region = point.precision is LocationPrecision.REGION
        points.append({
            "place": point.place.id, "name": point.place.name(language),
            "precision": point.precision.value,
            "lat": point.place.lat, "lon": point.place.lon,
            "count": cell.count, "text": cell.text,
            "filter": ["region" if region else "town", point.place.id],
        })
    unplaced = suppress(data.unplaced, threshold)
    return {"threshold": threshold, "points": points,
            "unplaced": {"count": unplaced.count, "text": unplaced.text}}
