"""Researchers' filters: query parameters parsed into a frozen, validated `Filters`.

Client input never becomes structure: every value is checked against the taxonomy, the
gazetteer or a fixed list, and a bad one is a 400 naming its parameter. What the database
query needs comes out ready to bind: `conditions()` gives (field, operator, value) triples
over a fixed set of field names (`FILTER_FIELDS`), `order_by()` allow-listed sort fields, and
`like_pattern()` a search pattern with its wildcards escaped (use it with `escape="\\"`).
`matches()` is the same filter in Python: the reference the SQL has to agree with.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, Protocol, cast
from zoneinfo import ZoneInfo

from incidents.core.errors import N_, InvalidInput
from incidents.services.gazetteer import Gazetteer, load_gazetteer
from incidents.services.research.public import PublicIncident, Verification
from incidents.services.taxonomy import Taxonomy

DISPLAY_ZONE = "Asia/Almaty"
EARLIEST, LATEST = date(1990, 1, 1), date(2100, 12, 31)
MAX_VALUES = 50  # values of one multi-valued parameter
MAX_VALUE_CHARS = 64
SEARCH_MAX_CHARS = 100
MAX_PAGE = 10_000
PER_PAGE_CHOICES = (25, 50, 100)
DEFAULT_PER_PAGE = 50
LIKE_ESCAPE = "\\"

# sort parameter -> ((field, descending), ...); the public id breaks ties so pages are stable.
SORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "start": (("start_utc", False), ("id", False)),
    "-start": (("start_utc", True), ("id", True)),
    "published": (("published_at", False), ("id", False)),
    "-published": (("published_at", True), ("id", True)),
    "-killed": (("killed", True), ("start_utc", False), ("id", False)),
    "-injured": (("injured", True), ("start_utc", False), ("id", False)),
    "-detained": (("detained", True), ("start_utc", False), ("id", False)),
}
DEFAULT_SORT = "start"

# Every field name conditions() and order_by() can produce: map these, and only these, to
# columns. "categories" and "tags" are multi-valued; "text" is the title and the summary.
FILTER_FIELDS = ("start_utc", "region_id", "place_id", "categories", "tags", "verification",
                 "has_photo", "has_video", "text")
SORT_FIELDS = ("start_utc", "published_at", "killed", "injured", "detained", "id")

Operator = Literal["ge", "lt", "in", "any_of", "eq", "ilike"]
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"\d{1,6}")
_ID = re.compile(r"[a-z0-9_]{1,64}")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]")


class QueryParams(Protocol):
    """What a werkzeug MultiDict offers (request.args), without importing werkzeug."""

    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Condition:
    """One bound condition: `field` from FILTER_FIELDS, a fixed operator, a value to bind."""

    field: str
    op: Operator
    value: Any


def _bad(field: str, message: str = N_("The field %(name)s is not valid.")) -> InvalidInput:
    return InvalidInput(message, field=field, name=field)


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so `%_%_%` matches those characters, not everything."""
    return (text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%")
            .replace("_", LIKE_ESCAPE + "_"))


@dataclass(frozen=True, slots=True)
class Filters:
    """A validated set of researcher filters; the defaults select everything."""

    date_from: date | None = None
    date_to: date | None = None
    regions: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    verification: tuple[Verification, ...] = ()
    has_photo: bool | None = None
    has_video: bool | None = None
    search: str = ""
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    sort: str = DEFAULT_SORT
    zone: str = DISPLAY_ZONE

    # --- what the query needs ---------------------------------------------------------

    def start_bound(self) -> datetime | None:
        """Local midnight starting `date_from`, in UTC (inclusive)."""
        if self.date_from is None:
            return None
        return datetime.combine(self.date_from, time(0), ZoneInfo(self.zone)).astimezone(UTC)

    def end_bound(self) -> datetime | None:
        """Local midnight after `date_to`, in UTC (exclusive)."""
        if self.date_to is None:
            return None
        return datetime.combine(self.date_to + timedelta(days=1), time(0),
                                ZoneInfo(self.zone)).astimezone(UTC)

    def like_pattern(self) -> str | None:
        """`%text%` with the search text's own wildcards escaped, or None without a search."""
        return f"%{escape_like(self.search)}%" if self.search else None

    def conditions(self) -> tuple[Condition, ...]:
        """Every condition, to be ANDed; values within one `in`/`any_of` are ORed."""
        found: list[Condition] = []
        if (start := self.start_bound()) is not None:
            found.append(Condition("start_utc", "ge", start))
        if (end := self.end_bound()) is not None:
            found.append(Condition("start_utc", "lt", end))
        if self.regions:
            found.append(Condition("region_id", "in", self.regions))
        if self.towns:
            found.append(Condition("place_id", "in", self.towns))
        if self.categories:
            found.append(Condition("categories", "any_of", self.categories))
        if self.tags:
            found.append(Condition("tags", "any_of", self.tags))
        if self.verification:
            found.append(Condition("verification", "in",
                                   tuple(v.value for v in self.verification)))
        if self.has_photo is not None:
            found.append(Condition("has_photo", "eq", self.has_photo))
        if self.has_video is not None:
            found.append(Condition("has_video", "eq", self.has_video))
        if (pattern := self.like_pattern()) is not None:
            found.append(Condition("text", "ilike", pattern))
        return tuple(found)

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        """(field, descending) pairs, from SORT_FIELDS only."""
        return SORTS[self.sort]

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def limit(self) -> int:
        return self.per_page

    # --- the same filter in Python -----------------------------------------------------

    def matches(self, incident: PublicIncident, gazetteer: Gazetteer | None = None) -> bool:
        """Whether an incident passes every condition (the reference for the SQL version)."""
        start, end = self.start_bound(), self.end_bound()
        towns = (gazetteer or load_gazetteer()).same_place_ids(self.towns)
        place = incident.place
        search = self.search.casefold()
        return all((
            start is None or incident.start_utc >= start,
            end is None or incident.start_utc < end,
            not self.regions or place.region_id in self.regions,
            not towns or place.place_id in towns,
            not self.categories or any(c in self.categories for c in incident.categories),
            not self.tags or any(t in self.tags for t in incident.tags),
            not self.verification or incident.verification in self.verification,
            self.has_photo is None or incident.has_photo is self.has_photo,
            self.has_video is None or incident.has_video is self.has_video,
            not search or search in incident.title.casefold()
            or search in (incident.summary or "").casefold(),
        ))

    # --- links -------------------------------------------------------------------------

    def query_items(self, *, page: int | None = None) -> list[tuple[str, str]]:
        """The filters as query parameters, in a fixed order (page links, export links)."""
        items: list[tuple[str, str]] = []
        if self.date_from:
            items.append(("from", self.date_from.isoformat()))
        if self.date_to:
            items.append(("to", self.date_to.isoformat()))
        items += [("region", v) for v in self.regions]
        items += [("town", v) for v in self.towns]
        items += [("category", v) for v in self.categories]
        items += [("tag", v) for v in self.tags]
        items += [("verification", v.value) for v in self.verification]
        for name, flag in (("has_photo", self.has_photo), ("has_video", self.has_video)):
            if flag is not None:
                items.append((name, "1" if flag else "0"))
        if self.search:
            items.append(("q", self.search))
        if self.sort != DEFAULT_SORT:
            items.append(("sort", self.sort))
        if self.per_page != DEFAULT_PER_PAGE:
            items.append(("per_page", str(self.per_page)))
        chosen = self.page if page is None else page
        if chosen != 1:
            items.append(("page", str(chosen)))
        return items

    def with_page(self, page: int) -> Filters:
        return replace(self, page=page)


# --- parsing ---------------------------------------------------------------------------


def _raw(params: QueryParams | Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(params, "getlist", None)
    if callable(getlist):  # a MultiDict: every value of a repeated parameter
        values = list(getlist(key))
    else:
        value = cast(Mapping[str, Any], params).get(key)
        values = [] if value is None else list(value) if isinstance(value, list | tuple) else [
            value]
    if not all(isinstance(v, str) for v in values):
        raise _bad(key)
    return [v for v in values if v.strip()]  # an empty form field means "any"


def _single(params: QueryParams | Mapping[str, Any], key: str) -> str | None:
    values = _raw(params, key)
    if len(values) > 1:
        raise _bad(key, N_("The field %(name)s may be given only once."))
    return values[0].strip() if values else None


def _ids(params: QueryParams | Mapping[str, Any], key: str) -> tuple[str, ...]:
    """Repeated and/or comma-separated ids, deduplicated, in the order given."""
    ids = [part.strip() for value in _raw(params, key) for part in value.split(",")]
    ids = [i for i in ids if i]
    if len(ids) > MAX_VALUES:
        raise _bad(key, N_("The field %(name)s has too many values."))
    for value in ids:
        if len(value) > MAX_VALUE_CHARS or not _ID.fullmatch(value):
            raise _bad(key)
    return tuple(dict.fromkeys(ids))


def _date(params: QueryParams | Mapping[str, Any], key: str) -> date | None:
    value = _single(params, key)
    if value is None:
        return None
    if not _DATE.fullmatch(value):
        raise _bad(key, N_("The field %(name)s must be a date (YYYY-MM-DD)."))
    try:
        day = date.fromisoformat(value)
    except ValueError as e:
        raise _bad(key, N_("The field %(name)s must be a date (YYYY-MM-DD).")) from e
    if not EARLIEST <= day <= LATEST:
        raise _bad(key, N_("The field %(name)s is out of range."))
    return day


def _flag(params: QueryParams | Mapping[str, Any], key: str) -> bool | None:
    value = _single(params, key)
    if value is None or value.lower() == "any":
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _bad(key, N_("The field %(name)s must be yes or no."))


def _number(params: QueryParams | Mapping[str, Any], key: str, default: int, low: int,
            high: int) -> int:
    value = _single(params, key)
    if value is None:
        return default
    if not _NUMBER.fullmatch(value) or not low <= int(value) <= high:
        raise InvalidInput(N_("The field %(name)s must be a whole number from %(low)s to "
                              "%(high)s."), field=key, name=key, low=low, high=high)
    return int(value)


def clean_search(text: str) -> str:
    """Search text as typed, minus control and invisible characters, capped in length."""
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return " ".join(text.split())[:SEARCH_MAX_CHARS]


def parse_filters(params: QueryParams | Mapping[str, Any], *, taxonomy: Taxonomy,
                  gazetteer: Gazetteer, zone: str = DISPLAY_ZONE) -> Filters:
    """Parse researcher query parameters; unknown parameters (`lang`, …) are ignored."""
    date_from, date_to = _date(params, "from"), _date(params, "to")
    if date_from and date_to and date_to < date_from:
        raise _bad("to", N_("The end date is before the start date."))

    region_ids = {p.region for p in gazetteer.places}
    regions = _ids(params, "region")
    if any(r not in region_ids for r in regions):
        raise _bad("region", N_("Unknown region."))
    towns = _ids(params, "town")
    for town in towns:
        place = gazetteer.get(town)
        if place is None or place.kind == "region":
            raise _bad("town", N_("Unknown town."))
    categories = _ids(params, "category")
    if any(taxonomy.category(c) is None for c in categories):
        raise _bad("category", N_("Unknown category."))
    tags = _ids(params, "tag")
    if any(taxonomy.tag(t) is None for t in tags):
        raise _bad("tag", N_("Unknown tag."))
    try:
        verification = tuple(Verification(v) for v in _ids(params, "verification"))
    except ValueError as e:
        raise _bad("verification", N_("Unknown verification level.")) from e

    sort = _single(params, "sort") or DEFAULT_SORT
    if sort not in SORTS:
        raise _bad("sort", N_("The field %(name)s must be one of the listed orders."))
    per_page = _number(params, "per_page", DEFAULT_PER_PAGE, 1, max(PER_PAGE_CHOICES))
    if per_page not in PER_PAGE_CHOICES:
        raise _bad("per_page")
    search = _single(params, "q")
    return Filters(
        date_from=date_from, date_to=date_to, regions=regions, towns=towns,
        categories=categories, tags=tags, verification=verification,
        has_photo=_flag(params, "has_photo"), has_video=_flag(params, "has_video"),
        search=clean_search(search) if search else "",
        page=_number(params, "page", 1, 1, MAX_PAGE), per_page=per_page, sort=sort, zone=zone,
    )
