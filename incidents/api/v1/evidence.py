"""Evidence originals and integrity checks over the API (staff only; custody events)."""

from __future__ import annotations

from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.base import documented, reply
from incidents.api.v1.schemas.evidence import ORIGINAL, IntegrityOut
from incidents.services import review
from incidents.web.context import get_blobstore
from incidents.web.db import get_session
from incidents.web.http.responses import evidence_response


@blueprint.get("/evidence/<public_id>/original")
@documented("The original bytes, as an attachment", errors=(404,), fragment=ORIGINAL)
def evidence_original(public_id: str) -> Response:
    """The original bytes; the "downloaded" event naming the caller commits first."""
    found = review.open_original(get_session(), get_blobstore(), current_user.user, public_id)
    return evidence_response(found, review.chunks(found.reader), "application/octet-stream")


@blueprint.post("/evidence/<public_id>/integrity")
@documented("Decrypt, re-hash and compare (custody event integrity_checked)",
            response=IntegrityOut, errors=(404,))
def evidence_integrity(public_id: str) -> Response:
    result = review.check_integrity(get_session(), get_blobstore(), current_user.user,
                                    public_id)
    return reply(IntegrityOut.of(public_id, result))
