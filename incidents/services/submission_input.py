"""Validation of a submission's metadata (DESIGN §8): an allow-list, each error naming its field.

Nothing here touches the database or the store: a submission is validated whole before
any row, blob or custody event is made, so a 400 leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from incidents.core.errors import N_, InvalidInput
from incidents.models.submissions import DECLARED_NAME_MAX, DECLARED_TYPE_MAX, TimePrecision
from incidents.services.gazetteer import PREFER_NOT_TO_SAY, Gazetteer, Place
from incidents.services.taxonomy import Taxonomy

CONSENT_KEYS = ("legal", "research", "publication", "contact")
COUNT_KEYS = ("injured", "detained", "killed")
MAX_COUNT = 1_000_000
MAX_FORCES_CHARS = 4000
MAX_UPLOAD_IDS = 100
EARLIEST = date(1900, 1, 1)
# Characters that reorder or hide text (bidi controls, zero-width) are shown as escapes.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]")


@dataclass(frozen=True)
class SubmissionInput:
    """A validated submission; only these fields ever reach the models."""

    testimony: str
    occurred_at: datetime | None
    time_precision: TimePrecision
    date_only: bool
    place: Place | None  # None: prefer not to say
    point: tuple[float, float] | None
    categories: list[str]
    tags: list[str]
    counts: dict[str, int | None]
    forces: str
    consent: dict[str, bool]
    uploads: list[str]

    def __repr__(self) -> str:  # never the testimony or the point in a log or traceback
        return f"SubmissionInput(precision={self.time_precision.value})"

    @property
    def sealed_metadata(self) -> dict[str, Any]:
        """What is stored only encrypted: the exact point and the forces description."""
        return {"point": list(self.point) if self.point else None, "forces": self.forces}


def _bad(field: str, message: str = N_("The field %(name)s is not valid.")) -> InvalidInput:
    return InvalidInput(message, field=field, name=field)


def parse_metadata_json(raw: str | None) -> dict[str, Any]:
    """The `metadata` part: a JSON object, or 400 naming `metadata`."""
    if raw is None:
        raise _bad("metadata", N_("The field %(name)s is missing."))
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise _bad("metadata", N_("The field %(name)s is not valid JSON.")) from e
    if not isinstance(data, dict):
        raise _bad("metadata", N_("The field %(name)s must be a JSON object."))
    return data


def validate(
    data: dict[str, Any],
    *,
    taxonomy: Taxonomy,
    gazetteer: Gazetteer,
    display_zone: str,
    max_testimony_bytes: int,
    now: datetime,
) -> SubmissionInput:
    """Check every allow-listed field; unknown fields (`role`, `owner_id`, …) are ignored."""
    precision = _precision(data.get("time_precision"))
    occurred_at, date_only = _occurred_at(data.get("occurred_at"), precision,
                                          ZoneInfo(display_zone), now)
    categories, tags = taxonomy.check(data.get("categories"), data.get("tags"))
    return SubmissionInput(
        testimony=_text(data.get("testimony"), "testimony", max_testimony_bytes),
        occurred_at=occurred_at,
        time_precision=precision,
        date_only=date_only,
        place=_place(data.get("place"), gazetteer),
        point=_point(data.get("point")),
        categories=categories,
        tags=tags,
        counts=_counts(data.get("counts")),
        forces=_text(data.get("forces"), "forces", MAX_FORCES_CHARS * 4)[:MAX_FORCES_CHARS],
        consent=_consent(data.get("consent")),
        uploads=parse_upload_ids(data.get("uploads")),
    )


def _text(value: Any, field: str, max_bytes: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(field, N_("The field %(name)s must be text."))
    if "\x00" in value or len(value.encode("utf-8", "surrogatepass")) > max_bytes:
        raise _bad(field, N_("The field %(name)s is too long or has a NUL byte."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise _bad(field) from e
    return value


def _precision(value: Any) -> TimePrecision:
    try:
        return TimePrecision(value)
    except (ValueError, TypeError) as e:
        raise _bad("time_precision", N_(
            "The field %(name)s must be exact, approximate or unknown.")) from e


def _occurred_at(value: Any, precision: TimePrecision, zone: ZoneInfo,
                 now: datetime) -> tuple[datetime | None, bool]:
    """ISO 8601 date or date-time; a local time without offset is read in the display zone."""
    if value is None or value == "":
        if precision is TimePrecision.UNKNOWN:
            return None, True
        raise _bad("occurred_at", N_("The field %(name)s is missing."))
    if not isinstance(value, str) or len(value) > 40:
        raise _bad("occurred_at", N_("The field %(name)s must be an ISO 8601 date."))
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            when, date_only = datetime.combine(day, time(0), zone), True
        else:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
            when = parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
            date_only = False
    except ValueError as e:
        raise _bad("occurred_at", N_("The field %(name)s must be an ISO 8601 date.")) from e
    if when.date() < EARLIEST or when > now + timedelta(days=1):
        raise _bad("occurred_at", N_("The field %(name)s is out of range."))
    return when.astimezone(UTC), date_only


def _place(value: Any, gazetteer: Gazetteer) -> Place | None:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise _bad("place", N_("Choose a place from the list, or that you prefer not to say."))
    if value == PREFER_NOT_TO_SAY:
        return None
    place = gazetteer.resolve(value)
    if place is None:
        raise _bad("place", N_("This place is not in our list."))
    return place


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _point(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise _bad("point", N_("The field %(name)s must be [latitude, longitude]."))
    lat, lon = _number(value[0]), _number(value[1])
    if lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise _bad("point", N_("The field %(name)s is out of range."))
    return lat, lon


def _counts(value: Any) -> dict[str, int | None]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise _bad("counts", N_("The field %(name)s must be an object."))
    counts: dict[str, int | None] = {}
    for key in COUNT_KEYS:
        count = value.get(key)
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                                  or not 0 <= count <= MAX_COUNT):
            raise _bad(f"counts.{key}", N_("The field %(name)s must be a whole number."))
        counts[key] = count
    return counts


def _consent(value: Any) -> dict[str, bool]:
    if not isinstance(value, dict):
        raise _bad("consent", N_("Please answer each consent question."))
    consent = {}
    for key in CONSENT_KEYS:
        answer = value.get(key)
        if not isinstance(answer, bool):
            raise _bad(f"consent.{key}", N_("Please answer each consent question."))
        consent[key] = answer
    return consent


def parse_upload_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if (not isinstance(value, list) or len(value) > MAX_UPLOAD_IDS
            or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value)):
        raise _bad("uploads", N_("The field %(name)s must be a list of upload ids."))
    return list(dict.fromkeys(value))


def clean_declared(value: str, limit: int = DECLARED_NAME_MAX) -> str:
    """A client-declared name or type as inert text: controls and bidi marks escaped, capped.

    The result is metadata only: it never becomes a path, a header or a content type.
    """
    value = unicodedata.normalize("NFC", value)
    out = []
    for ch in value:
        if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} or _INVISIBLE.match(ch):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    text = "".join(out)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_declared_name(value: str) -> str:
    """A declared file name's last component only, as inert text: a client's full path
    (`/home/<user>/DCIM/…`, `C:\\Users\\<name>\\…`) names the witness."""
    return clean_declared(value.replace("\\", "/").rsplit("/", 1)[-1])


def clean_declared_type(value: str) -> str:
    return clean_declared(value.strip().lower(), DECLARED_TYPE_MAX)
