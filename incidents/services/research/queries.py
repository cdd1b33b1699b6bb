"""Researchers' side of the database: published incidents, filtered, paged, counted, streamed.

Every query starts from `published_rows()`: published, not merged away, with a start time.
Filters (`incidents.services.research.filters.Filters`) become bound parameters on a fixed map of
columns, sorting uses allow-listed columns only, and LIKE wildcards in a search are escaped.
A filter never looks at what researchers may not see: the place filters compare the place as
`locate` would show it (never a hidden town), and a search matches the summary only where it
is public (every witness consented to publication).

Rows become `PublicIncident`s here (`RowMapper`), through `locate` and `public_summary`,
so pages, API and exports are built from nothing else. The chart and map counts are in
`aggregates`, the streamed exports in `stream`.
"""


from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
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

from incidents.core.errors import NotFound
from incidents.models import Incident, IncidentSubmission, IncidentTerm, Submission, TermKind
from incidents.services.gazetteer import Gazetteer, load_gazetteer
from incidents.services.research.exports import (
    LIST_SEPARATOR,
    local_text,
    neutralise,
    utc_text,
)
from incidents.services.research.filters import LIKE_ESCAPE, Condition, Filters
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


TERM_SEPARATOR = "\x1f"  # never in a taxonomy id


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
                    I.c.place_id.in_(list(gazetteer.same_place_ids(value))))
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


def row_mapper(gazetteer: Gazetteer | None) -> RowMapper:
    return RowMapper(gazetteer or load_gazetteer(), load_taxonomy())


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def page(session: Session, filters: Filters, *,
         gazetteer: Gazetteer | None = None) -> tuple[PublicIncident, ...]:
    """The incidents of `filters.page`, in the chosen order."""
    mapper = row_mapper(gazetteer)
    query = (rows_query(filters, mapper.gazetteer, dialect_of(session))
             .offset(filters.offset).limit(filters.limit))
    return tuple(mapper(row) for row in session.execute(query))


def count(session: Session, filters: Filters, *, gazetteer: Gazetteer | None = None) -> int:
    gazetteer = gazetteer or load_gazetteer()
    query = select(func.count()).select_from(I).where(where(filters, gazetteer))
    return int(session.scalar(query) or 0)


def preview_incident(session: Session, public_id: str, published_at: datetime, *,
                     gazetteer: Gazetteer | None = None) -> PublicIncident:
    """What researchers would see of an incident once published: `get_incident`'s columns
    and mapper, so the preview and the published page cannot differ; an incident not yet
    published gets `published_at`. NotFound for a merged one or one without a start."""
    if not isinstance(public_id, str) or not 0 < len(public_id) <= 32:
        raise NotFound()
    mapper = row_mapper(gazetteer)
    query = (select(*public_columns(dialect_of(session)))
             .where(I.c.merged_into_id.is_(None), I.c.start_utc.is_not(None),
                    I.c.public_id == public_id))
    row = session.execute(query).first()
    if row is None:
        raise NotFound()
    *rest, published = tuple(row)
    return mapper((*rest, published or published_at))


def get_incident(session: Session, public_id: str, *,
                 gazetteer: Gazetteer | None = None) -> PublicIncident:
    """One published incident by its public id; NotFound otherwise (unpublished included)."""
    if not isinstance(public_id, str) or not 0 < len(public_id) <= 32:
        raise NotFound()
    mapper = row_mapper(gazetteer)
    query = (select(*public_columns(dialect_of(session)))
             .where(published_condition(), I.c.public_id == public_id))
    row = session.execute(query).first()
    if row is None:
        raise NotFound()
    return mapper(row)
