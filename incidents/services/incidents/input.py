"""The incident form or API object, checked field by field against the taxonomy and gazetteer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from incidents.core import fields
from incidents.core.errors import N_, InvalidFields, InvalidInput
from incidents.models import (
    Submission,
    TimePrecision,
)
from incidents.models.incidents import TITLE_MAX
from incidents.services.gazetteer import Gazetteer, load_gazetteer
from incidents.services.incidents.precision import precision_cap
from incidents.services.research.public import (
    LocationPrecision,
    Verification,
)
from incidents.services.taxonomy import Taxonomy, load_taxonomy

TEXT_MAX = 20_000
T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


COUNT_MAX = 1_000_000


@dataclass(frozen=True)
class IncidentInput:
    title: str
    description: str
    summary: str | None
    start_utc: datetime | None
    end_utc: datetime | None
    time_precision: TimePrecision
    place_id: str | None
    location_precision: LocationPrecision
    categories: list[str]
    tags: list[str]
    injured: int | None
    detained: int | None
    killed: int | None
    verification: Verification


def _bad(name: str) -> InvalidInput:
    return InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name)


def _str(data: Mapping[str, Any], name: str, max_length: int, required: bool = False) -> str:
    return fields.text(data.get(name), name, max_length=max_length, required=required,
                       too_long=fields.NOT_VALID, measure_raw=True)


def _when(data: Mapping[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _bad(name)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise _bad(name) from e
    if parsed.tzinfo is None:
        raise InvalidInput(N_("Give times in UTC (ending in Z)."), field=name)
    return parsed


def _count(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= COUNT_MAX:
        raise _bad(name)
    return value


def _ids(data: Mapping[str, Any], name: str) -> list[str]:
    value = data.get(name) or []
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(name)
    return value


class _Errors:
    """Collects each field's error, so a form can show all of them at once."""

    def __init__(self) -> None:
        self.found: list[InvalidInput] = []

    def take(self, check: Callable[[], T], default: T) -> T:
        try:
            return check()
        except InvalidFields as e:
            self.found.extend(e.errors)
        except InvalidInput as e:
            self.found.append(e)
        return default

    def raise_any(self) -> None:
        if self.found:
            raise InvalidFields(self.found)


def _enum(data: Mapping[str, Any], name: str, kind: type[E], default: E) -> E:
    value = data.get(name) or default.value
    try:
        return kind(value)
    except ValueError as e:
        raise _bad(name) from e


def _day(text: str, name: str) -> date:
    """A day as the date input sends it (2022-01-05) or as people type it (05.01.2022)."""
    text = text.strip()
    try:
        if "." in text:
            day_part, month, year = text.split(".")
            if len(year) != 4:
                raise ValueError(text)
            return date(int(year), int(month), int(day_part))
        return date.fromisoformat(text)
    except ValueError as e:
        raise InvalidInput(N_("Give the date as day.month.year, for example 05.01.2022."),
                           field=name) from e


def _clock(text: str, name: str) -> time:
    try:
        found = time.fromisoformat(text.strip())
    except ValueError as e:
        raise InvalidInput(N_("Give the time as hours:minutes, for example 14:20."),
                           field=name) from e
    if found.tzinfo is not None:
        raise InvalidInput(N_("Give the time as hours:minutes, for example 14:20."), field=name)
    return found


def local_moment(data: Mapping[str, Any], prefix: str, zone: ZoneInfo,
                 precision: TimePrecision) -> datetime | None:
    """`<prefix>_date` and `<prefix>_time`, wall-clock time in `zone`, as a UTC moment.

    The offset is the zone's on that day (zoneinfo: Almaty was UTC+6 in January 2022 and is
    UTC+5 since March 2024). A date alone is the day's midnight in `zone`, as a witness's
    date-only report is stored, and means "only the date is known".
    """
    day_name, time_name = f"{prefix}_date", f"{prefix}_time"
    day_text, time_text = data.get(day_name), data.get(time_name)
    if not isinstance(day_text, str | None) or not isinstance(time_text, str | None):
        raise _bad(day_name)
    day_text, time_text = (day_text or "").strip(), (time_text or "").strip()
    if not day_text:
        if time_text:
            raise InvalidInput(N_("Give the date as well as the time."), field=day_name)
        return None
    errors = _Errors()
    day = errors.take(lambda: _day(day_text, day_name), date(1970, 1, 1))
    clock = errors.take(lambda: _clock(time_text, time_name), time(0)) if time_text else None
    errors.raise_any()
    if clock is None and precision is not TimePrecision.UNKNOWN:
        raise InvalidInput(N_("Give the time, or choose that only the date is known."),
                           field=time_name)
    if clock is not None and precision is TimePrecision.UNKNOWN:
        raise InvalidInput(N_("A time is given: choose how exact it is, or clear the time."),
                           field=time_name)
    local = datetime.combine(day, clock or time(0), zone)
    moment = local.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise InvalidInput(N_("This time did not exist there: the clocks were moved on."),
                           field=time_name)
    return moment


def parse_input(data: Mapping[str, Any], *, taxonomy: Taxonomy | None = None,
                gazetteer: Gazetteer | None = None, zone: str | None = None) -> IncidentInput:
    """The incident form or API object, checked against the taxonomy and gazetteer.

    The API gives `start_utc`/`end_utc` (RFC 3339 with a zone); the form, given `zone`, gives
    dates and times on the clock of that zone (`local_moment`). Every field is checked, and
    all the errors found are raised together (`InvalidFields`).
    """
    taxonomy = taxonomy or load_taxonomy()
    gazetteer = gazetteer or load_gazetteer()
    errors = _Errors()
    nothing: tuple[list[str], list[str]] = ([], [])
    categories, tags = errors.take(
        lambda: taxonomy.check(_ids(data, "categories"), _ids(data, "tags")), nothing)
    place_id = errors.take(lambda: _str(data, "place", 64) or None, None)
    if place_id is not None and gazetteer.get(place_id) is None:
        errors.found.append(InvalidInput(N_("This place is not in our list."), field="place"))
        place_id = None
    precision = errors.take(lambda: _enum(data, "location_precision", LocationPrecision,
                                          LocationPrecision.TOWN if place_id
                                          else LocationPrecision.NONE), LocationPrecision.NONE)
    verification = errors.take(lambda: _enum(data, "verification", Verification,
                                             Verification.REPORTED), Verification.REPORTED)
    time_precision = errors.take(lambda: _enum(data, "time_precision", TimePrecision,
                                               TimePrecision.UNKNOWN), TimePrecision.UNKNOWN)
    start: datetime | None
    end: datetime | None
    if zone is None:
        start = errors.take(lambda: _when(data, "start_utc"), None)
        end = errors.take(lambda: _when(data, "end_utc"), None)
        end_field = "end_utc"
    else:
        where = ZoneInfo(zone)
        start = errors.take(lambda: local_moment(data, "start", where, time_precision), None)
        end = errors.take(lambda: local_moment(data, "end", where, time_precision), None)
        end_field = "end_date"
    if start and end and end < start:
        errors.found.append(InvalidInput(N_("The end is before the start."), field=end_field))
    title = errors.take(lambda: _str(data, "title", TITLE_MAX, required=True), "")
    description = errors.take(lambda: _str(data, "description", TEXT_MAX), "")
    summary = errors.take(lambda: _str(data, "summary", 2000), "") or None
    counts = {name: errors.take(lambda name=name: _count(data, name), None)  # type: ignore[misc]
              for name in ("injured", "detained", "killed")}
    errors.raise_any()
    return IncidentInput(
        title=title, description=description, summary=summary,
        start_utc=start, end_utc=end, time_precision=time_precision, place_id=place_id,
        location_precision=precision, categories=categories, tags=tags,
        injured=counts["injured"], detained=counts["detained"], killed=counts["killed"],
        verification=verification)


def input_from_submissions(submissions: Sequence[Submission], title: str) -> dict[str, Any]:
    """A starting point for the incident form, from the submissions' clear fields."""
    first = submissions[0] if submissions else None
    categories = sorted({c for s in submissions for c in s.categories})
    tags = sorted({t for s in submissions for t in s.tags})
    times = [s.occurred_at for s in submissions if s.occurred_at]
    return {
        "title": title,
        "start_utc": min(times).isoformat().replace("+00:00", "Z") if times else "",
        "time_precision": first.time_precision.value if first else "unknown",
        "place": first.place_id if first and first.place_id else "",
        "location_precision": precision_cap(submissions).value,
        "categories": categories, "tags": tags,
    }
