"""The v1 blueprint; request and answer shapes live in `incidents.api.v1.schemas`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from incidents.api.v1.schemas.base import json_object

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")


def json_body(allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object, keeping only allow-listed fields (actors still use it;
    new endpoints declare a `schemas.base.Body` with `documented(body=...)` instead)."""
    return {key: value for key, value in json_object().items() if key in allowed}
