"""The v1 blueprint and the request parsing every resource shares."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from incidents.core.errors import N_, InvalidInput

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")


def json_body(allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object, keeping only allow-listed fields (never model structure)."""
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput(N_("The request body is not valid UTF-8.")) from e
    data = request.get_json(silent=True) if text.strip() else {}
    if not isinstance(data, dict):
        raise InvalidInput(N_("The request body must be a JSON object."))
    return {key: value for key, value in data.items() if key in allowed}


def string_list(data: dict[str, Any], name: str) -> list[str]:
    """The strings of a list field (anything else in it, or a field that is no list: none)."""
    value = data.get(name) or []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def string_field(data: dict[str, Any], name: str, *, required: bool = True,
                 max_length: int = 1024) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidInput(N_("The field %(name)s must be a non-empty string."), field=name,
                           name=name)
    if len(value) > max_length or "\x00" in value:
        raise InvalidInput(N_("The field %(name)s is too long or has a NUL byte."),
                           field=name, name=name)
    return value
