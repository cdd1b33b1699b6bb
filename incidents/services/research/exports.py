"""Open-data exports of public incidents: CSV (RFC 4180), JSON and GeoJSON (RFC 7946).

Each export is a generator of text chunks over an iterable of `PublicIncident`: it holds one
small batch of rows at a time, so memory stays flat whatever the number of incidents, and a
web response can stream it as it is made. Columns and their order are fixed (`COLUMNS`,
explained in docs/data-dictionary.md); times are given in UTC and in the display time zone.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from incidents.services.research.public import PublicIncident

DISPLAY_ZONE = "Asia/Almaty"
BATCH = 200  # rows per yielded chunk: big enough to be cheap to send, small enough to stay flat
LIST_SEPARATOR = ";"
# Spreadsheets run a cell starting with these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = (
    "id", "title", "summary",
    "start_utc", "start_local", "end_utc", "end_local", "time_precision",
    "location_precision", "place_id", "region_id",
    "place_name_en", "place_name_ru", "place_name_kk", "latitude", "longitude",
    "categories", "tags", "injured", "detained", "killed",
    "verification", "has_photo", "has_video",
    "published_at_utc", "published_at_local",
)
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "geojson": "application/geo+json",
}


def utc_text(value: datetime | None) -> str | None:
    """ISO 8601 in UTC to the second, with `Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds")[:-6] + "Z"


def local_text(value: datetime | None, zone: ZoneInfo) -> str | None:
    """ISO 8601 in `zone` to the second, with its UTC offset (+06:00 for Almaty in 2022)."""
    if value is None:
        return None
    return value.astimezone(zone).isoformat(timespec="seconds")


def record(incident: PublicIncident, zone: ZoneInfo) -> dict[str, Any]:
    """One incident as typed values, keyed by `COLUMNS` in their order."""
    place = incident.place
    return {
        "id": incident.id,
        "title": incident.title,
        "summary": incident.summary,
        "start_utc": utc_text(incident.start_utc),
        "start_local": local_text(incident.start_utc, zone),
        "end_utc": utc_text(incident.end_utc),
        "end_local": local_text(incident.end_utc, zone),
        "time_precision": incident.time_precision,
        "location_precision": place.precision.value,
        "place_id": place.place_id,
        "region_id": place.region_id,
        "place_name_en": place.name_en or None,
        "place_name_ru": place.name_ru or None,
        "place_name_kk": place.name_kk or None,
        "latitude": place.lat,
        "longitude": place.lon,
        "categories": list(incident.categories),
        "tags": list(incident.tags),
        "injured": incident.injured,
        "detained": incident.detained,
        "killed": incident.killed,
        "verification": incident.verification.value,
        "has_photo": incident.has_photo,
        "has_video": incident.has_video,
        "published_at_utc": utc_text(incident.published_at),
        "published_at_local": local_text(incident.published_at, zone),
    }


def neutralise(cell: str) -> str:
    """Prefix `'` to text a spreadsheet would run as a formula; the value stays readable."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _text(value: str | None) -> str:
    return "" if value is None else neutralise(value)


def _count(value: int | float | None) -> str:
    return "" if value is None else str(value)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def csv_row(incident: PublicIncident, zone: ZoneInfo) -> list[str]:
    """One incident as CSV cells in `COLUMNS` order. Every text cell is neutralised; numbers,
    times and flags are formatted here and cannot start a formula."""
    place = incident.place
    return [
        _text(incident.id), _text(incident.title), _text(incident.summary),
        utc_text(incident.start_utc) or "", local_text(incident.start_utc, zone) or "",
        utc_text(incident.end_utc) or "", local_text(incident.end_utc, zone) or "",
        _text(incident.time_precision),
        place.precision.value, _text(place.place_id), _text(place.region_id),
        _text(place.name_en), _text(place.name_ru), _text(place.name_kk),
        _count(place.lat), _count(place.lon),
        _text(LIST_SEPARATOR.join(incident.categories)),
        _text(LIST_SEPARATOR.join(incident.tags)),
        _count(incident.injured), _count(incident.detained), _count(incident.killed),
        incident.verification.value, _flag(incident.has_photo), _flag(incident.has_video),
        utc_text(incident.published_at) or "", local_text(incident.published_at, zone) or "",
    ]


def _batches(incidents: Iterable[PublicIncident], render: Callable[[PublicIncident], str],
             separator: str) -> Iterator[str]:
    """Rendered incidents joined by `separator`, `BATCH` at a time (leading separator on
    every batch but the first)."""
    batch: list[str] = []
    first = True
    for incident in incidents:
        batch.append(render(incident))
        if len(batch) >= BATCH:
            yield ("" if first else separator) + separator.join(batch)
            first = False
            batch.clear()
    if batch:
        yield ("" if first else separator) + separator.join(batch)


def csv_chunks(incidents: Iterable[PublicIncident], zone: str = DISPLAY_ZONE, *,
               bom: bool = False) -> Iterator[str]:
    """CSV with a header row; `bom` helps spreadsheets that assume a legacy code page."""
    tz = ZoneInfo(zone)
    yield from csv_text((csv_row(incident, tz) for incident in incidents), bom=bom)


def csv_text(rows: Iterable[list[str]], *, bom: bool = False) -> Iterator[str]:
    """`COLUMNS` as a header row, then `rows` of cells, written BATCH rows to a chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes doubled
    writer.writerow(COLUMNS)
    yield ("\ufeff" if bom else "") + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
        if count >= BATCH:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            count = 0
    if count:
        yield buffer.getvalue()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_chunks(incidents: Iterable[PublicIncident], zone: str = DISPLAY_ZONE) -> Iterator[str]:
    """A JSON array of objects with the `COLUMNS` keys, one object per line, streamed."""
    tz = ZoneInfo(zone)
    yield "[\n"
    yield from _batches(incidents, lambda i: _json(record(i, tz)), ",\n")
    yield "\n]\n"


def feature(incident: PublicIncident, zone: ZoneInfo) -> dict[str, Any]:
    """An RFC 7946 Feature: a Point at [longitude, latitude], or no geometry when the
    location may not be shown; the other columns as properties."""
    properties = record(incident, zone)
    lat, lon = properties.pop("latitude"), properties.pop("longitude")
    geometry = None if lat is None else {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "id": incident.id, "geometry": geometry,
            "properties": properties}


def geojson_chunks(incidents: Iterable[PublicIncident],
                   zone: str = DISPLAY_ZONE) -> Iterator[str]:
    """A GeoJSON FeatureCollection, one Feature per line, streamed."""
    tz = ZoneInfo(zone)
    yield '{"type":"FeatureCollection","features":[\n'
    yield from _batches(incidents, lambda i: _json(feature(i, tz)), ",\n")
    yield "\n]}\n"


EXPORTS: dict[str, Callable[[Iterable[PublicIncident], str], Iterator[str]]] = {
    "csv": csv_chunks,
    "json": json_chunks,
    "geojson": geojson_chunks,
}


def export_filename(kind: str, now: datetime) -> str:
    """A server-made download name, e.g. `incidents-20220120T120000Z.csv`."""
    if kind not in EXPORTS:
        raise ValueError("unknown export format")
    return f"incidents-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.{kind}"
