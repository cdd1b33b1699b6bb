"""Researchers: published incidents (paged) and the streamed timeline exports.

The filters are query parameters shared with the research pages
(`incidents.services.research.filters` parses them), so they are declared here as parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from incidents.api.v1.schemas.base import Out

STRING = {"type": "string"}
FILTERS = tuple(
    {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
    for name, schema, text in (
        ("from", {"type": "string", "format": "date"}, "first local (Asia/Almaty) day"),
        ("to", {"type": "string", "format": "date"}, "last local day, included"),
        ("region", STRING, "gazetteer region ids, repeated or comma-separated"),
        ("town", STRING, "gazetteer town ids, repeated or comma-separated"),
        ("category", STRING, "category ids (any of)"),
        ("tag", STRING, "sub-tag ids (any of)"),
        ("verification", STRING, "reported, corroborated, verified (any of)"),
        ("has_photo", {"type": "string", "enum": ["yes", "no", "any"]}, ""),
        ("has_video", {"type": "string", "enum": ["yes", "no", "any"]}, ""),
        ("q", {"type": "string", "maxLength": 100}, "words in the title or public excerpt"),
        ("sort", {"type": "string", "enum": ["start", "-start", "published", "-published",
                                             "-killed", "-injured", "-detained"]}, ""),
    )
)
PAGING = (
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "enum": [25, 50, 100]}},
)


class PublicIncidentOut(Out):
    """One published incident: the columns of docs/data-dictionary.md, in their order."""

    id: str
    title: str
    summary: str | None
    start_utc: str | None
    start_local: str | None
    end_utc: str | None
    end_local: str | None
    time_precision: str
    location_precision: str
    place_id: str | None
    region_id: str | None
    place_name_en: str | None
    place_name_ru: str | None
    place_name_kk: str | None
    latitude: float | None
    longitude: float | None
    categories: list[str]
    tags: list[str]
    injured: int | None
    detained: int | None
    killed: int | None
    verification: str
    has_photo: bool
    has_video: bool
    published_at_utc: str | None
    published_at_local: str | None


class IncidentPageOut(Out):
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    per_page: int
    incidents: list[PublicIncidentOut]

    @classmethod
    def of(cls, total: int, page: int, per_page: int,
           records: list[dict[str, Any]]) -> IncidentPageOut:
        return cls(total=total, page=page, per_page=per_page,
                   incidents=[PublicIncidentOut.model_validate(r) for r in records])


_RECORD = {"$ref": "#/components/schemas/PublicIncidentOut"}
_STREAMED = {
    # The JSON export is an array of the /incidents records; GeoJSON (RFC 7946) moves
    # latitude and longitude into a Point geometry (none when the place may not be shown).
    "csv": ("text/csv", {"type": "string"}),
    "json": ("application/json", {"type": "array", "items": _RECORD}),
    "geojson": ("application/geo+json", {"type": "object", "required": ["type", "features"],
                                         "properties": {"type": {"const": "FeatureCollection"},
                                                        "features": {"type": "array"}}}),
}


def timeline(defaults: Mapping[str, Any]) -> Mapping[str, Any]:
    """The streamed download of one timeline route (kind comes from the route)."""
    media, schema = _STREAMED[defaults["kind"]]
    return {"summary": f"Every published incident matching the filters, streamed as "
                       f"{defaults['kind']}",
            "responses": {"200": {"description": "Streamed download (docs/data-dictionary.md)",
                                  "content": {media: {"schema": schema}}}}}
