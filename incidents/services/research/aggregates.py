"""The timeline page and the map: incidents per local day and per shown place, counted in SQL.

Counts are cached briefly per process (`AggregateCache`), keyed by the filters and by the
newest change to incidents, so the timeline stays fast with 100,000 incidents."""


from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    and_,
    func,
    select,
)
from sqlalchemy.orm import Session

from incidents.models import TermKind
from incidents.services.gazetteer import Gazetteer, Place, load_gazetteer
from incidents.services.research.chart import MAX_DAYS, DailyCounts
from incidents.services.research.filters import Filters
from incidents.services.research.map import MapData, MapPoint, drawn_at
from incidents.services.research.public import (
    LocationPrecision,
    PublicIncident,
    locate,
)
from incidents.services.research.queries import I, T, count, dialect_of, page, where
from incidents.services.taxonomy import load_taxonomy

CACHE_SECONDS = 30.0  # an aggregate is recounted at least this often (see AggregateCache)


CACHE_ENTRIES = 256


@dataclass(frozen=True, slots=True)
class Timeline:
    """One page of the timeline: its incidents, how many match, and the chart's counts."""

    filters: Filters
    incidents: tuple[PublicIncident, ...]
    total: int
    daily: DailyCounts | None  # None when nothing matches or the range is too long to chart


def timeline(session: Session, filters: Filters, *, gazetteer: Gazetteer | None = None,
             cache: AggregateCache | None = None) -> Timeline:
    gazetteer = gazetteer or load_gazetteer()
    cache = cache or AggregateCache()
    version = data_version(session)
    key = aggregate_key(filters)
    total = cache.get(("count", key), version,
                      lambda: count(session, filters, gazetteer=gazetteer))
    daily = cache.get(("daily", key), version,
                      lambda: daily_counts(session, filters, gazetteer=gazetteer))
    return Timeline(filters, page(session, filters, gazetteer=gazetteer), total, daily)


def map_data(session: Session, filters: Filters, *, gazetteer: Gazetteer | None = None,
             cache: AggregateCache | None = None) -> MapData:
    gazetteer = gazetteer or load_gazetteer()
    cache = cache or AggregateCache()
    return cache.get(("map", aggregate_key(filters)), data_version(session),
                     lambda: count_by_place(session, filters, gazetteer=gazetteer))


def _local_bucket(session: Session, zone: str) -> Any:
    """The start's local date (PostgreSQL), or its UTC minute as text (SQLite; made local in
    Python: minutes, so that zones with half-hour offsets are right too)."""
    if dialect_of(session) == "postgresql":
        return func.date(func.timezone(zone, I.c.start_utc))
    return func.substr(I.c.start_utc, 1, 16)


def _to_local_date(bucket: Any, zone: ZoneInfo) -> date:
    if isinstance(bucket, date) and not isinstance(bucket, datetime):
        return bucket
    text = str(bucket)
    utc = datetime.fromisoformat(text[:16]).replace(tzinfo=UTC)
    return utc.astimezone(zone).date()


def daily_counts(session: Session, filters: Filters, *,
                 gazetteer: Gazetteer | None = None) -> DailyCounts | None:
    """Incidents per local start day and category, as `chart.daily_counts` would count them.

    The chart spans the filters' dates, or else the days that have incidents (at most the
    last MAX_DAYS of them); None when nothing matches or the chosen range is too long.
    """
    gazetteer = gazetteer or load_gazetteer()
    zone = ZoneInfo(filters.zone)
    bucket = _local_bucket(session, filters.zone).label("bucket")
    query = (select(bucket, T.c.term, func.count())
             .select_from(I.join(T, and_(T.c.incident_id == I.c.id,
                                         T.c.kind == TermKind.CATEGORY)))
             .where(where(filters, gazetteer)).group_by(bucket, T.c.term))
    grouped: dict[tuple[date, str], int] = {}
    for raw, term, n in session.execute(query):
        key = (_to_local_date(raw, zone), term)
        grouped[key] = grouped.get(key, 0) + int(n)
    categories = tuple(c.id for c in load_taxonomy().categories)
    if filters.date_from and filters.date_to:
        first, last = filters.date_from, filters.date_to
    elif grouped:
        days = [d for d, _ in grouped]
        first, last = filters.date_from or min(days), filters.date_to or max(days)
        if filters.date_from is None:
            first = max(first, last - timedelta(days=MAX_DAYS - 1))
        if filters.date_to is None:
            last = min(last, first + timedelta(days=MAX_DAYS - 1))
    else:
        return None
    if last < first or (last - first).days + 1 > MAX_DAYS:
        return None
    span = tuple(first + timedelta(days=i) for i in range((last - first).days + 1))
    counts = tuple(tuple(grouped.get((day, c), 0) for c in categories) for day in span)
    return DailyCounts(categories, span, counts)


def count_by_place(session: Session, filters: Filters, *,
                   gazetteer: Gazetteer | None = None) -> MapData:
    """Incidents per drawable place, as `research.map.aggregate` would count them."""
    gazetteer = gazetteer or load_gazetteer()
    query = (select(I.c.place_id, I.c.location_precision, func.count())
             .where(where(filters, gazetteer))
             .group_by(I.c.place_id, I.c.location_precision))
    counts: dict[tuple[str, bool], int] = {}
    places: dict[str, Place] = {}
    unplaced = 0
    for place_id, precision, n in session.execute(query):
        found = drawn_at(locate(gazetteer, place_id, LocationPrecision(precision)), gazetteer)
        if found is None:
            unplaced += int(n)
            continue
        place, is_region = found
        places[place.id] = place
        counts[(place.id, is_region)] = counts.get((place.id, is_region), 0) + int(n)
    points = [MapPoint(places[pid], LocationPrecision.REGION if is_region
                       else LocationPrecision.TOWN, n) for (pid, is_region), n in counts.items()]
    points.sort(key=lambda p: (-p.count, p.place.id, p.precision.value))
    return MapData(tuple(points), unplaced)


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes when incidents change: the newest edit (publishing, withdrawing and merging
    are edits) and the newest publication; two index probes (migration 0007).

    (An edit that touches only an incident's terms does not change `updated_at`; the cache's
    time limit bounds how long such a change can go unseen in the aggregates.)
    """
    row = session.execute(select(
        select(func.max(I.c.updated_at)).scalar_subquery(),
        select(func.max(I.c.published_at)).scalar_subquery())).one()
    return tuple(row)


def aggregate_key(filters: Filters) -> tuple[Any, ...]:
    """The filters that change counts (not the page, its size or the order)."""
    return (filters.date_from, filters.date_to, filters.regions, filters.towns,
            filters.categories, filters.tags, filters.verification, filters.has_photo,
            filters.has_video, filters.search, filters.zone)


class AggregateCache:
    """Counts per (kind, filters), valid while the data version holds and for CACHE_SECONDS.

    One per application (`app.extensions["research_cache"]`); thread-safe; bounded.
    """

    def __init__(self, seconds: float = CACHE_SECONDS, entries: int = CACHE_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.entries = entries
        self.clock = clock
        self._lock = threading.Lock()
        self._values: dict[tuple[Any, ...], tuple[tuple[Any, ...], float, Any]] = {}

    def get(self, key: tuple[Any, ...], version: tuple[Any, ...],
            compute: Callable[[], Any]) -> Any:
        now = self.clock()
        with self._lock:
            found = self._values.get(key)
        if found is not None and found[0] == version and now - found[1] < self.seconds:
            return found[2]
        value = compute()
        with self._lock:
            if len(self._values) >= self.entries:
                self._values.pop(next(iter(self._values)))
            self._values[key] = (version, now, value)
        return value
