"""The incident form or API object, checked field by field against the taxonomy and gazetteer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.core import fields
from incidents.core.errors import N_, InvalidInput
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


def parse_input(data: Mapping[str, Any], *, taxonomy: Taxonomy | None = None,
                gazetteer: Gazetteer | None = None) -> IncidentInput:
    """The incident form or API object, checked against the taxonomy and gazetteer."""
    taxonomy = taxonomy or load_taxonomy()
    gazetteer = gazetteer or load_gazetteer()
    categories, tags = taxonomy.check(_ids(data, "categories"), _ids(data, "tags"))
    place_id = _str(data, "place", 64) or None
    if place_id is not None and gazetteer.get(place_id) is None:
        raise InvalidInput(N_("This place is not in our list."), field="place")
    try:
        precision = LocationPrecision(data.get("location_precision") or (
            "town" if place_id else "none"))
        verification = Verification(data.get("verification") or "reported")
        time_precision = TimePrecision(data.get("time_precision") or "unknown")
    except ValueError as e:
        raise _bad("precision") from e
    start, end = _when(data, "start_utc"), _when(data, "end_utc")
    if start and end and end < start:
        raise InvalidInput(N_("The end is before the start."), field="end_utc")
    return IncidentInput(
        title=_str(data, "title", TITLE_MAX, required=True),
        description=_str(data, "description", TEXT_MAX),
        summary=_str(data, "summary", 2000) or None,
        start_utc=start, end_utc=end, time_precision=time_precision, place_id=place_id,
        location_precision=precision, categories=categories, tags=tags,
        injured=_count(data, "injured"), detained=_count(data, "detained"),
        killed=_count(data, "killed"), verification=verification)


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
