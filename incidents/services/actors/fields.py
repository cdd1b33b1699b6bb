"""Input checks for actors, posts and links: each failure names its field (400, nothing stored)."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from incidents.core.errors import N_, InvalidInput

NAME_MAX = 200
TEXT_MAX = 5000
LIST_MAX = 50
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
Choice = TypeVar("Choice", bound=StrEnum)


def new_id(prefix: str) -> str:
    """`prefix` and 10 random base32 characters (50 bits): stable, and says nothing."""
    return f"{prefix}-" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")[:10]


def bad(name: str) -> InvalidInput:
    return InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name)


def text(data: Mapping[str, Any], name: str, max_length: int = NAME_MAX, *,
         required: bool = False, multiline: bool = False) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise bad(name)
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(N_("The field %(name)s is longer than %(max)s characters."),
                           field=name, name=name, max=max_length)
    control = _CONTROL_RE.search(value.replace("\n", "").replace("\r", "").replace("\t", "")
                                 if multiline else value)
    if control or (not multiline and ("\n" in value or "\r" in value)):
        raise InvalidInput(N_("The field %(name)s holds control characters."), field=name,
                           name=name)
    if required and not value:
        raise InvalidInput(N_("The field %(name)s must be a non-empty string."), field=name,
                           name=name)
    return value


def texts(data: Mapping[str, Any], name: str, max_length: int = NAME_MAX) -> list[str]:
    value = data.get(name)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in value.splitlines()]
    if not isinstance(value, list) or len(value) > LIST_MAX:
        raise bad(name)
    found = [text({name: v}, name, max_length) for v in value]
    return [v for v in dict.fromkeys(found) if v]


def choice(data: Mapping[str, Any], name: str, kind: type[Choice], *,
           default: Choice | None = None) -> Choice:
    value = data.get(name)
    if value in (None, "") and default is not None:
        return default
    try:
        return kind(str(value) if isinstance(value, str) else "")
    except ValueError as e:
        raise bad(name) from e


def optional_choice(data: Mapping[str, Any], name: str, kind: type[Choice]) -> Choice | None:
    if data.get(name) in (None, ""):
        return None
    return choice(data, name, kind)


def day(data: Mapping[str, Any], name: str) -> date | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 10:
        raise bad(name)
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise bad(name) from e


def date_range(data: Mapping[str, Any], start: str = "start", end: str = "end"
               ) -> tuple[date | None, date | None]:
    first, last = day(data, start), day(data, end)
    if first and last and last < first:
        raise InvalidInput(N_("The end of a date range is before its start."), field=end)
    return first, last


def whole(data: Mapping[str, Any], name: str, *, low: int, high: int) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise bad(name)
    return value


def seconds_ms(data: Mapping[str, Any], name: str) -> int | None:
    """A time in a recording, in seconds (decimals allowed), as whole milliseconds."""
    value = data.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError as e:
            raise bad(name) from e
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            0 <= value <= 7 * 24 * 3600):
        raise bad(name)
    return round(value * 1000)


def public_id(data: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > 32:
        raise bad(name)
    return value


def objects(data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = data.get(name)
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > LIST_MAX or not all(
            isinstance(v, dict) for v in value):
        raise bad(name)
    return value


def prefixed(error: InvalidInput, prefix: str) -> InvalidInput:
    """The same error, its field named inside a list: `citations[0].item`."""
    return InvalidInput(error.message, field=f"{prefix}.{error.field}" if error.field
                        else prefix, **error.params)
