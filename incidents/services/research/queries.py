"""Researchers' side of the database: published incidents, filtered, paged, counted, streamed.

Every query starts from `published_rows()`: published, not merged away, with a start time.
Filters (`incidents.services.research.filters.Filters`) become bound parameters on a fixed map of
columns, sorting uses allow-listed columns only, and LIKE wildcards in a search are escaped.
A filter never looks at what researchers may not see: the place filters compare the place as
`locate` would show it (never a hidden town), and a search matches the summary only where it
is public (every witness consented to publication).

Rows become `PublicIncident`s here (`RowMapper`), through `locate` and `public_summary`,
so pages, API and exports are built from nothing else. Aggregates for the chart and the map
are counted in SQL and cached briefly per process (`AggregateCache`), keyed by the filters and
by the newest change to incidents, so the timeline stays fast with 100,000 incidents.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    String,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from incidents.core.database import Database
from incidents.core.errors import NotFound
from incidents.models import Incident, IncidentSubmission, IncidentTerm, Submission, TermKind
from incidents.services.gazetteer import Gazetteer, Place, load_gazetteer
from incidents.services.research.chart import MAX_DAYS, DailyCounts
from incidents.services.research.exports import (
    EXPORTS,
    LIST_SEPARATOR,
    csv_text,
    local_text,
    neutralise,
    utc_text,
)
from incidents.services.research.filters import LIKE_ESCAPE, Condition, Filters
from incidents.services.research.map import MapData, MapPoint
from incidents.services.research.public import (
    LocationPrecision,
    PublicIncident,
    PublicPlace,
    Verification,
    locate,
    public_summary,
)
from incidents.services.taxonomy import Taxonomy, load_taxonomy

I = Incident.__table__  # noqa: E741 - the table, as in SQL
T = IncidentTerm.__table__
LINKS = IncidentSubmission.__table__
SUBMISSIONS = Submission.__table__
STREAM_BATCH = 2000  # rows per fetch from a server-side cursor
QUEUE_BATCHES = 3  # fetched batches waiting to be written, at most
CACHE_SECONDS = 30.0  # an aggregate is recounted at least this often (see AggregateCache)
CACHE_ENTRIES = 256
TERM_SEPARATOR = "\x1f"  # never in a taxonomy id


# --- what every query shares ---------------------------------------------------------------


def published_condition() -> ColumnElement[bool]:
    return and_(I.c.published.is_(True), I.c.merged_into_id.is_(None),
                I.c.start_utc.is_not(None))


def consented() -> ColumnElement[bool]:
    """True when witnesses stand behind the incident and none of them refused publication of
    their words (`incidents.services.incidents.witnesses_consented`, in SQL)."""
    linked = select(literal(1)).where(LINKS.c.incident_id == I.c.id)
    refused = (select(literal(1))
               .select_from(LINKS.join(SUBMISSIONS, LINKS.c.submission_id == SUBMISSIONS.c.id))
               .where(LINKS.c.incident_id == I.c.id,
                      SUBMISSIONS.c.consent_publication.is_not(True)))
    return and_(exists(linked), ~exists(refused))


def _terms(kind: TermKind, dialect: str) -> Any:
    """The incident's category or tag ids in one text value (order fixed in Python)."""
    aggregate = (func.string_agg(T.c.term, literal(TERM_SEPARATOR)) if dialect == "postgresql"
                 else func.group_concat(T.c.term, TERM_SEPARATOR))
    return (select(aggregate).where(T.c.incident_id == I.c.id, T.c.kind == kind)
            .scalar_subquery())


def _has_term(kind: TermKind, values: Sequence[str]) -> ColumnElement[bool]:
    term = T.alias()  # the chart's query joins T itself: this one must not correlate to it
    return exists(select(literal(1)).where(term.c.incident_id == I.c.id, term.c.kind == kind,
                                           term.c.term.in_(list(values))))


def _shown_place_ids(gazetteer: Gazetteer, keep: Callable[[PublicPlace], bool]) -> list[str]:
    return [p.id for p in gazetteer.places
            if keep(locate(gazetteer, p.id, LocationPrecision.TOWN))]


def condition_sql(condition: Condition, gazetteer: Gazetteer) -> ColumnElement[bool]:
    """One filter condition as SQL with bound values; only FILTER_FIELDS are known."""
    field, value = condition.field, condition.value
    if field == "start_utc":
        return I.c.start_utc >= value if condition.op == "ge" else I.c.start_utc < value
    if field == "region_id":
        # The region as `locate` shows it, and only where a location may be shown at all.
        places = _shown_place_ids(gazetteer, lambda p: p.region_id in value)
        return and_(I.c.location_precision != LocationPrecision.NONE, I.c.place_id.in_(places))
    if field == "place_id":
        # A town is shown only at town (or exact) precision; region precision hides it.
        return and_(I.c.location_precision.in_([LocationPrecision.EXACT,
                                                 LocationPrecision.TOWN]),
                    I.c.place_id.in_(list(value)))
    if field == "categories":
        return _has_term(TermKind.CATEGORY, value)
    if field == "tags":
        return _has_term(TermKind.TAG, value)
    if field == "verification":
        return I.c.verification.in_([Verification(v) for v in value])
    if field in ("has_photo", "has_video"):
        return I.c[field].is_(true()) if value else I.c[field].is_(false())
    if field == "text":
        # The summary is searched only where researchers may read it.
        return or_(I.c.title.ilike(value, escape=LIKE_ESCAPE),
                   and_(I.c.summary.ilike(value, escape=LIKE_ESCAPE), consented()))
    raise ValueError(f"unknown filter field {field!r}")


SORT_COLUMNS = {"start_utc": I.c.start_utc, "published_at": I.c.published_at,
                "killed": I.c.killed, "injured": I.c.injured, "detained": I.c.detained,
                "id": I.c.public_id}


def where(filters: Filters, gazetteer: Gazetteer) -> ColumnElement[bool]:
    return and_(published_condition(),
                *(condition_sql(c, gazetteer) for c in filters.conditions()))


# Never NULL in a published row: sorted without a NULLS clause, so that PostgreSQL reads the
# order straight from an index, forwards or backwards (ix_incidents_start_utc_public_id).
NOT_NULL_SORTS = frozenset({"start_utc", "published_at", "id"})


def ordering(filters: Filters) -> list[Any]:
    order = []
    for field, descending in filters.order_by():
        column = SORT_COLUMNS[field]  # a KeyError here is a bug: fields are allow-listed
        if field in NOT_NULL_SORTS:
            order.append(column.desc() if descending else column.asc())
        else:
            order.append(column.desc().nulls_last() if descending else column.asc().nulls_last())
    return order


def public_columns(dialect: str) -> list[Any]:
    """The only columns researchers' rows are made from, in `RowMapper` order.

    Enums are read as their text values and, on PostgreSQL (which always answers with aware
    times), times as plain timestamps: `RowMapper` converts both, and skipping the column
    types' own conversions is a third of the cost of reading 100,000 rows for an export.
    """
    def time(column: Any) -> Any:
        if dialect == "postgresql":
            return type_coerce(column, DateTime(timezone=True)).label(column.name)
        return column

    def text(column: Any) -> Any:
        return type_coerce(column, String()).label(column.name)

    return [I.c.public_id, I.c.title, I.c.summary, consented().label("consented"),
            time(I.c.start_utc), time(I.c.end_utc), text(I.c.time_precision), I.c.place_id,
            text(I.c.location_precision), _terms(TermKind.CATEGORY, dialect).label("categories"),
            _terms(TermKind.TAG, dialect).label("tags"), I.c.injured, I.c.detained, I.c.killed,
            text(I.c.verification), I.c.has_photo, I.c.has_video, time(I.c.published_at)]


def rows_query(filters: Filters, gazetteer: Gazetteer, dialect: str) -> Select[Any]:
    return (select(*public_columns(dialect)).where(where(filters, gazetteer))
            .order_by(*ordering(filters)))


# --- rows to PublicIncident -----------------------------------------------------------------


class RowMapper:
    """Turns result rows into `PublicIncident`s; places and term orders are memoised."""

    def __init__(self, gazetteer: Gazetteer, taxonomy: Taxonomy) -> None:
        self.gazetteer = gazetteer
        self._places: dict[tuple[str | None, str], PublicPlace] = {}
        order = [c.id for c in taxonomy.categories]
        order += [t.id for c in taxonomy.categories for t in c.tags]
        self._rank = {term: i for i, term in enumerate(order)}
        self._terms: dict[str | None, tuple[str, ...]] = {None: ()}
        self._cells: dict[tuple[str | None, str], list[str]] = {}

    def place(self, place_id: str | None, precision: Any) -> PublicPlace:
        key = (place_id, str(precision))
        found = self._places.get(key)
        if found is None:
            # No exact point is stored on an incident: EXACT is shown at its town.
            found = locate(self.gazetteer, place_id, LocationPrecision(precision))
            self._places[key] = found
        return found

    def terms(self, joined: str | None) -> tuple[str, ...]:
        found = self._terms.get(joined)
        if found is None:
            assert joined is not None
            found = tuple(sorted(set(joined.split(TERM_SEPARATOR)),
                                 key=lambda t: (self._rank.get(t, len(self._rank)), t)))
            self._terms[joined] = found
        return found

    def _place_cells(self, place_id: str | None, precision: Any) -> list[str]:
        key = (place_id, f"cells:{precision}")
        found = self._cells.get(key)
        if found is None:
            place = self.place(place_id, precision)
            found = [place.precision.value, _text(place.place_id), _text(place.region_id),
                     _text(place.name_en), _text(place.name_ru), _text(place.name_kk),
                     _number(place.lat), _number(place.lon)]
            self._cells[key] = found
        return found

    def csv_cells(self, row: Sequence[Any], zone: ZoneInfo) -> list[str]:
        """The CSV cells of a row: what `exports.csv_row(self(row), zone)` gives."""
        (public_id, title, summary, ok, start, end, precision, place_id, location, categories,
         tags, injured, detained, killed, verification, has_photo, has_video, published) = row
        published = published or start
        shown = public_summary(summary, witnesses_consented=bool(ok))
        return [
            neutralise(public_id), neutralise(title), _text(shown),
            utc_text(start) or "", local_text(start, zone) or "",
            utc_text(end) or "", local_text(end, zone) or "", neutralise(str(precision)),
            *self._place_cells(place_id, location),
            _text(LIST_SEPARATOR.join(self.terms(categories))),
            _text(LIST_SEPARATOR.join(self.terms(tags))),
            _number(injured), _number(detained), _number(killed),
            Verification(verification).value, "true" if has_photo else "false",
            "true" if has_video else "false",
            utc_text(published) or "", local_text(published, zone) or "",
        ]

    def __call__(self, row: Row[Any] | Sequence[Any]) -> PublicIncident:
        (public_id, title, summary, ok, start, end, precision, place_id, location, categories,
         tags, injured, detained, killed, verification, has_photo, has_video, published) = row
        return PublicIncident(
            id=public_id, title=title, summary=public_summary(summary,
                                                              witnesses_consented=bool(ok)),
            start_utc=start, end_utc=end, time_precision=str(precision),
            place=self.place(place_id, location), categories=self.terms(categories),
            tags=self.terms(tags), injured=injured, detained=detained, killed=killed,
            verification=Verification(verification), has_photo=bool(has_photo),
            has_video=bool(has_video), published_at=published or start,
        )


def _text(value: str | None) -> str:
    return "" if value is None else neutralise(value)


def _number(value: int | float | None) -> str:
    return "" if value is None else str(value)


def _mapper(gazetteer: Gazetteer | None) -> RowMapper:
    return RowMapper(gazetteer or load_gazetteer(), load_taxonomy())


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timeline:
    """One page of the timeline: its incidents, how many match, and the chart's counts."""

    filters: Filters
    incidents: tuple[PublicIncident, ...]
    total: int
    daily: DailyCounts | None  # None when nothing matches or the range is too long to chart


def page(session: Session, filters: Filters, *,
         gazetteer: Gazetteer | None = None) -> tuple[PublicIncident, ...]:
    """The incidents of `filters.page`, in the chosen order."""
    mapper = _mapper(gazetteer)
    query = (rows_query(filters, mapper.gazetteer, _dialect(session))
             .offset(filters.offset).limit(filters.limit))
    return tuple(mapper(row) for row in session.execute(query))


def count(session: Session, filters: Filters, *, gazetteer: Gazetteer | None = None) -> int:
    gazetteer = gazetteer or load_gazetteer()
    query = select(func.count()).select_from(I).where(where(filters, gazetteer))
    return int(session.scalar(query) or 0)


def get_incident(session: Session, public_id: str, *,
                 gazetteer: Gazetteer | None = None) -> PublicIncident:
    """One published incident by its public id; NotFound otherwise (unpublished included)."""
    if not isinstance(public_id, str) or not 0 < len(public_id) <= 32:
        raise NotFound()
    mapper = _mapper(gazetteer)
    query = (select(*public_columns(_dialect(session)))
             .where(published_condition(), I.c.public_id == public_id))
    row = session.execute(query).first()
    if row is None:
        raise NotFound()
    return mapper(row)


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


def export(database: Database, filters: Filters, kind: str, *,
           gazetteer: Gazetteer | None = None, zone: str = "Asia/Almaty") -> Iterator[str]:
    """Every matching incident as `kind` (csv, json, geojson), streamed from its own session."""
    if kind == "csv":
        return csv_export(database, filters, gazetteer=gazetteer, zone=zone)
    render = EXPORTS[kind]  # KeyError: a bug, kinds come from a fixed route
    return render(stream(database, filters, gazetteer=gazetteer), zone)


def csv_export(database: Database, filters: Filters, *, gazetteer: Gazetteer | None = None,
               zone: str = "Asia/Almaty") -> Iterator[str]:
    """The CSV export, byte for byte `exports.csv_chunks` over `stream(...)`, made faster.

    The biggest export is the CSV of everything, so its rows go from database rows to cells
    directly (`RowMapper.csv_cells`), without a `PublicIncident` in between; a test holds the
    output equal to the reference, and the cells come from the same allow-listed columns
    through the same `locate` and `public_summary`.
    """
    mapper = _mapper(gazetteer)
    tz = ZoneInfo(zone)
    yield from csv_text(mapper.csv_cells(row, tz)
                        for row in _rows(database, filters, mapper.gazetteer))


def stream(database: Database, filters: Filters, *,
           gazetteer: Gazetteer | None = None) -> Iterator[PublicIncident]:
    """Every matching incident in sort order (see `_rows`), as `PublicIncident`s."""
    mapper = _mapper(gazetteer)
    for row in _rows(database, filters, mapper.gazetteer):
        yield mapper(row)


def _rows(database: Database, filters: Filters, gazetteer: Gazetteer) -> Iterator[tuple[Any, ...]]:
    """Every matching row in sort order, read through a server-side cursor in batches.

    A reader thread fetches batches (its own session: a streamed response outlives the
    request's) into a queue of QUEUE_BATCHES while the caller turns rows into output, so the
    database's work and ours overlap on two cores; memory stays at a few batches. Abandoning
    the iteration (a client gone) stops the reader and closes its session.
    """
    batches: queue.Queue[list[Any] | BaseException | None] = queue.Queue(QUEUE_BATCHES)
    stop = threading.Event()

    def put(item: list[Any] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            with database.new_session() as session:
                query = rows_query(filters.with_page(1), gazetteer, _dialect(session))
                result = session.execute(query.execution_options(yield_per=STREAM_BATCH))
                for partition in result.partitions():
                    if not put([tuple(row) for row in partition]):
                        return
            put(None)
        except BaseException as error:  # handed to the consumer, which re-raises it
            put(error)

    reader = threading.Thread(target=read, name="research-export", daemon=True)
    reader.start()
    try:
        while True:
            item = batches.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        reader.join(timeout=5)


# --- aggregates -------------------------------------------------------------------------------


def _local_bucket(session: Session, zone: str) -> Any:
    """The start's local date (PostgreSQL), or its UTC minute as text (SQLite; made local in
    Python: minutes, so that zones with half-hour offsets are right too)."""
    if _dialect(session) == "postgresql":
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


def _map_place(place: PublicPlace, gazetteer: Gazetteer) -> tuple[Place, bool] | None:
    """Where `research.map` draws an incident shown at `place` (the same rule)."""
    if place.precision is LocationPrecision.REGION:
        region = gazetteer.get(place.region_id)
        return (region, True) if region else None
    if place.precision in (LocationPrecision.EXACT, LocationPrecision.TOWN):
        found = gazetteer.get(place.place_id)
        return (found, found.kind == "region") if found else None
    return None


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
        found = _map_place(locate(gazetteer, place_id, LocationPrecision(precision)), gazetteer)
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


# --- the aggregate cache ----------------------------------------------------------------------


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

