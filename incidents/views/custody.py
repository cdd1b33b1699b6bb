"""Public custody endpoints (DESIGN §8): the checkpoint signing key and the latest checkpoint."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from incidents.services import checkpoints
from incidents.web.context import get_keys
from incidents.web.db import get_session

blueprint = Blueprint("custody", __name__, url_prefix="/custody")


@blueprint.get("/public-key")
def public_key() -> Response:
    pem = get_keys().signing_public_key_pem()
    return Response(pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": 'inline; filename="custody-key.pem"'})


@blueprint.get("/checkpoint")
def checkpoint() -> Response:
    """The latest signed checkpoint, or with ?size=N the one signed for N events."""
    size = request.args.get("size")
    session = get_session()
    if size is None:
        note = checkpoints.public_checkpoint(session).note
    else:
        note = checkpoints.signed_checkpoint(session, checkpoints.parse_size(size, "size")).note
    return Response(note, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@blueprint.get("/proof/consistency")
def consistency() -> Response:
    """RFC 6962 §2.1.2 consistency proof between two tree sizes (anonymous, JSON)."""
    first = checkpoints.parse_size(request.args.get("first"), "first")
    second = checkpoints.parse_size(request.args.get("second"), "second")
    proof = checkpoints.public_consistency_proof(get_session(), first, second)
    return jsonify({"first": first, "second": second, "proof": [h.hex() for h in proof]})
