"""The incident map: Kazakhstan's outline and one circle per town or region, as SVG.

Projected on the server from the bundled Natural Earth outline (`data/kazakhstan.geojson`,
public domain): no tiles, no script, no external request. Incidents are counted by the place
they may be shown at: an exact or town-precision incident at its town (never at its exact
point), a region-precision incident at its region's own point; an incident whose location
may not be shown is only counted as "not shown on the map". Circle areas grow with counts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from incidents.services.gazetteer import Gazetteer, Place
from incidents.services.research.public import LocationPrecision, PublicIncident, PublicPlace
from incidents.services.research.suppress import (
    DEFAULT_THRESHOLD,
    Cell,
    hidden_text,
    is_small,
    suppress,
)
from incidents.services.research.svg import number, open_svg, text

OUTLINE_FILE = Path(__file__).resolve().parent / "data" / "kazakhstan.geojson"
WIDTH = 800.0
PAD = 12.0
# Equirectangular with a standard parallel through the middle of the country: simple and,
# over Kazakhstan's 15 degrees of latitude, close enough to equal-area for a counts map.
STANDARD_PARALLEL = 48.0
R_MIN, R_MAX = 3.0, 24.0
LABELS = 10  # the largest circles get a printed name
MIN_STEP = 0.6  # outline points closer than this (in SVG units) to the last one are dropped
# The outline's source, printed in the reader's language under the map (the figure caption);
# the SVG carries it too, in the same words, for anyone who saves the picture alone.
CREDIT = "Natural Earth"


@dataclass(frozen=True, slots=True)
class Frame:
    """The projection fitted to the outline: lon/lat bounds and SVG size."""

    lon_min: float
    lat_min: float
    lon_max: float
    lat_max: float
    scale: float
    width: float
    height: float

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        k = math.cos(math.radians(STANDARD_PARALLEL))
        return (PAD + (lon - self.lon_min) * k * self.scale,
                PAD + (self.lat_max - lat) * self.scale)


@dataclass(frozen=True, slots=True)
class Outline:
    frame: Frame
    path: str  # the SVG path data of every ring


@lru_cache(maxsize=2)
def load_outline(path: Path = OUTLINE_FILE) -> Outline:
    """Read and project the outline once per process."""
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    polygons: list[list[list[list[float]]]] = []
    for feature in data["features"]:
        geometry = feature["geometry"]
        if geometry["type"] == "Polygon":
            polygons.append(geometry["coordinates"])
        elif geometry["type"] == "MultiPolygon":
            polygons.extend(geometry["coordinates"])
    points = [pt for polygon in polygons for ring in polygon for pt in ring]
    lon_min, lon_max = min(p[0] for p in points), max(p[0] for p in points)
    lat_min, lat_max = min(p[1] for p in points), max(p[1] for p in points)
    k = math.cos(math.radians(STANDARD_PARALLEL))
    scale = (WIDTH - 2 * PAD) / ((lon_max - lon_min) * k)
    frame = Frame(lon_min, lat_min, lon_max, lat_max, scale, WIDTH,
                  (lat_max - lat_min) * scale + 2 * PAD)
    parts = []
    for polygon in polygons:
        for ring in polygon:
            last: tuple[float, float] | None = None
            commands = []
            for lon, lat in ring:
                x, y = frame.project(lon, lat)
                if last is not None and math.dist(last, (x, y)) < MIN_STEP:
                    continue
                commands.append(f"{'L' if last else 'M'}{number(x)} {number(y)}")
                last = (x, y)
            parts.append("".join(commands) + "Z")
    return Outline(frame, "".join(parts))


@dataclass(frozen=True, slots=True)
class MapPoint:
    """Incidents counted at one town (or city) or one region."""

    place: Place
    precision: LocationPrecision  # TOWN or REGION
    count: int


@dataclass(frozen=True, slots=True)
class MapData:
    points: tuple[MapPoint, ...]  # largest count first
    unplaced: int  # incidents whose location may not be shown on the map


def drawn_at(location: PublicPlace, gazetteer: Gazetteer) -> tuple[Place, bool] | None:
    """Where an incident shown at `location` is drawn, and whether that is a region; None if
    nowhere. The one rule for the SVG map and the SQL counts of the interactive one."""
    if location.precision is LocationPrecision.REGION:
        region = gazetteer.get(location.region_id)
        if region is None:
            return None
        # Almaty's "region" is the city itself: drawn as the one dot of the town.
        shown = gazetteer.same_place(region)
        return shown, shown.kind == "region"
    if location.precision in (LocationPrecision.EXACT, LocationPrecision.TOWN):
        place = gazetteer.get(location.place_id)
        if place is None:
            return None
        place = gazetteer.same_place(place)
        return place, place.kind == "region"
    return None


def aggregate(incidents: Iterable[PublicIncident], gazetteer: Gazetteer) -> MapData:
    """Count incidents per drawable place (a town, a city or a region)."""
    counts: dict[tuple[str, bool], int] = {}
    places: dict[str, Place] = {}
    unplaced = 0
    for incident in incidents:
        found = drawn_at(incident.place, gazetteer)
        if found is None:
            unplaced += 1
            continue
        place, is_region = found
        places[place.id] = place
        counts[(place.id, is_region)] = counts.get((place.id, is_region), 0) + 1
    points = [MapPoint(places[pid], LocationPrecision.REGION if is_region
                       else LocationPrecision.TOWN, n)
              for (pid, is_region), n in counts.items()]
    points.sort(key=lambda p: (-p.count, p.place.id, p.precision.value))
    return MapData(tuple(points), unplaced)


@dataclass(frozen=True, slots=True)
class MapRow:
    place_id: str
    name: str
    precision: LocationPrecision
    cell: Cell


def map_table(data: MapData, language: str = "en",
              threshold: int = DEFAULT_THRESHOLD) -> tuple[MapRow, ...]:
    """The map's numbers for the text table beside it, small counts hidden."""
    return tuple(MapRow(p.place.id, p.place.name(language), p.precision,
                        suppress(p.count, threshold)) for p in data.points)


def _radius(count: int, largest: int) -> float:
    return R_MIN + (R_MAX - R_MIN) * math.sqrt(count / max(largest, 1))


def render_map(data: MapData, *, title: str, description: str, language: str = "en",
               threshold: int | None = None, id_prefix: str = "incident-map",
               credit: str = CREDIT) -> str:
    """The map as an SVG string, to be inserted with `|safe` (everything in it is escaped).

    With `threshold`, a place with fewer incidents is drawn at the smallest size and its
    tooltip says "<threshold", matching the suppressed table.
    """
    outline = load_outline()
    frame = outline.frame
    out = [open_svg(id_prefix, frame.width, frame.height, title, description, "incident-map")]
    out.append(f'<path class="country" d="{outline.path}" fill="#eef0f2" stroke="#666" '
               'stroke-width="1" stroke-linejoin="round" aria-hidden="true"/>')
    largest = max((p.count for p in data.points), default=1)
    out.append('<g class="places">')
    labelled = []
    for rank, point in enumerate(data.points):
        x, y = frame.project(point.place.lon, point.place.lat)
        small = threshold is not None and is_small(point.count, threshold)
        shown = hidden_text(threshold) if small and threshold else str(point.count)
        radius = R_MIN if small else _radius(point.count, largest)
        region = point.precision is LocationPrecision.REGION
        name = point.place.name(language)
        count_attr = "" if small else f' data-count="{point.count}"'
        dashes = ' stroke-dasharray="3 2"' if region else ""
        out.append(
            f'<circle cx="{number(x)}" cy="{number(y)}" r="{number(radius)}" '
            f'fill="#D55E00" fill-opacity="0.55" stroke="#8a3c00" stroke-width="1"'
            f'{dashes} '
            f'data-place="{text(point.place.id)}" data-precision="{point.precision.value}"'
            f'{count_attr}><title>{text(f"{name}: {shown}")}</title></circle>')
        if rank < LABELS:
            labelled.append((x, y, radius, name))
    out.append("</g>")
    out.append('<g class="labels" aria-hidden="true">')
    for x, y, radius, name in labelled:
        out.append(f'<text x="{number(x + radius + 2)}" y="{number(y + 4)}" font-size="11" '
                   f'fill="#222">{text(name)}</text>')
    out.append("</g>")
    out.append(f'<text x="{number(frame.width - PAD)}" y="{number(frame.height - 2)}" '
               f'font-size="9" text-anchor="end" fill="#555">{text(credit)}</text>')
    out.append("</svg>")
    return "".join(out)
