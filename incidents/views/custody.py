"""Public custody endpoints (DESIGN §8): the checkpoint signing key and the latest checkpoint."""

from __future__ import annotations

from flask import Blueprint
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
    note = checkpoints.public_checkpoint(get_session()).note
    return Response(note, mimetype="text/plain", headers={"Cache-Control": "no-cache"})
