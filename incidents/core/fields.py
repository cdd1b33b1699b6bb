"""The one set of input shape checks: a text field, a one-line label.

Every service that takes free text from a form or a JSON body checks it here, so "too long",
"empty" and "has a NUL or control character" mean the same everywhere and are always a 400
naming the field (`InvalidInput(field=...)`), never a 500. The messages are source strings
(`N_`), translated when shown.
"""

from __future__ import annotations

from incidents.core.errors import N_, InvalidInput

NOT_VALID = N_("The field %(name)s is not valid.")
REQUIRED = N_("The field %(name)s must be a non-empty string.")
TOO_LONG = N_("The field %(name)s is too long or has a NUL byte.")


def text(value: object, field: str, *, max_length: int, required: bool = False,
         too_long: str = TOO_LONG, measure_raw: bool = False) -> str:
    """A free-text field, stripped: None is "", anything but a string is NOT_VALID, an empty
    value is refused when `required`, more than `max_length` characters or a NUL byte is
    `too_long`. `measure_raw`: the length limit applies before stripping (the incident form
    has always counted the text as sent)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(NOT_VALID, field=field, name=field)
    if measure_raw and (len(value) > max_length or "\x00" in value):
        raise InvalidInput(too_long, field=field, name=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(REQUIRED, field=field, name=field)
    if len(value) > max_length or "\x00" in value:
        raise InvalidInput(too_long, field=field, name=field)
    return value


def line(value: str | None, field: str, *, max_length: int, message: str) -> str:
    """A one-line label (a token's name, an invitation's note), stripped: at most
    `max_length` characters and no control characters, else `message`."""
    value = (value or "").strip()
    if len(value) > max_length or any(ord(ch) < 32 for ch in value):
        raise InvalidInput(message, field=field)
    return value
