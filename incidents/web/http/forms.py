"""Request input as service input: form ids, safe redirects, research filters, the submit form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import request

from incidents.core.clock import utcnow
from incidents.services import submission_input
from incidents.services.gazetteer import load_gazetteer
from incidents.services.research.filters import Filters, parse_filters
from incidents.services.taxonomy import load_taxonomy
from incidents.web.context import settings


def form_ids(name: str) -> list[str]:
    """The ids in every `name` field of the form, split at commas and spaces."""
    return [i for v in request.form.getlist(name) for i in v.replace(",", " ").split() if i]


def safe_next(target: str | None, default: str) -> str:
    """Only a same-origin relative path: never `//host`, a scheme, or a backslash trick."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


def filters_from_request() -> Filters:
    """The query string as validated filters; a bad value is a 400 naming its parameter."""
    return parse_filters(request.args, taxonomy=load_taxonomy(), gazetteer=load_gazetteer(),
                         zone=settings().display_timezone)


def metadata_from_form(fields: Mapping[str, list[str]]) -> dict[str, Any]:
    """The plain HTML form's fields as the API's metadata object (same validation)."""
    def one(name: str) -> str:
        values = fields.get(name) or [""]
        return values[0].strip()

    def count(name: str) -> int | str | None:
        text = one(name)
        return int(text) if text.isdigit() and len(text) < 8 else (text or None)

    day, clock = one("date"), one("time")
    point: Any = None
    if one("lat") or one("lon"):
        try:
            point = [float(one("lat")), float(one("lon"))]
        except ValueError:
            point = "invalid"
    return {
        "testimony": (fields.get("testimony") or [""])[0],
        "occurred_at": f"{day}T{clock}" if day and clock else day,
        "time_precision": one("time_precision") or "unknown",
        "place": one("place"),
        "point": point,
        "categories": fields.get("categories", []),
        "tags": fields.get("tags", []),
        "counts": {k: count(k) for k in ("injured", "detained", "killed")},
        "forces": (fields.get("forces") or [""])[0],
        "consent": {k: one(f"consent_{k}") == "yes" if one(f"consent_{k}") in ("yes", "no")
                    else None for k in submission_input.CONSENT_KEYS},
        # Finished tus uploads, added by static/js/upload.js as hidden fields.
        "uploads": fields.get("uploads", []),
    }


def validate_form_metadata(raw: dict[str, Any]) -> submission_input.SubmissionInput:
    s = settings()
    return submission_input.validate(
        raw, taxonomy=load_taxonomy(), gazetteer=load_gazetteer(),
        display_zone=s.display_timezone, max_testimony_bytes=s.max_form_field_bytes,
        now=utcnow())
