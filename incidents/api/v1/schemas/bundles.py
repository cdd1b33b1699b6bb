"""POST /bundles: which evidence to export; the answer is a streamed ZIP."""

from __future__ import annotations

from incidents.api.v1.schemas.base import Body, Identifier, Ids

ZIP = {"responses": {"200": {
    "description": "The bundle: a BagIt bag in a ZIP, streamed",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}}}


class BundleIn(Body):
    """One of: evidence item ids, an incident id, a case id (members only)."""

    evidence_ids: Ids | None = None
    incident_id: Identifier | None = None
    case_id: Identifier | None = None
