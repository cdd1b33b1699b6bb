"""Evidence originals and integrity checks over the API (staff only; custody events)."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint
from incidents.services import review
from incidents.web.context import get_blobstore
from incidents.web.db import get_session
from incidents.web.http.responses import evidence_response


@blueprint.get("/evidence/<public_id>/original")
def evidence_original(public_id: str) -> Response:
    """The original bytes; the "downloaded" event naming the caller commits first."""
    found = review.open_original(get_session(), get_blobstore(), current_user.user, public_id)
    return evidence_response(found, review.chunks(found.reader), "application/octet-stream")


@blueprint.post("/evidence/<public_id>/integrity")
def evidence_integrity(public_id: str) -> Response:
    result = review.check_integrity(get_session(), get_blobstore(), current_user.user,
                                    public_id)
    return jsonify({"item": public_id, "ok": result.ok, "problem": result.problem,
                    "custody_event": result.event_seq})
