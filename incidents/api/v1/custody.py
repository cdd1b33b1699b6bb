"""Custody checkpoint and inclusion proofs for signed-in users (DESIGN §4, §8)."""

from __future__ import annotations

import base64

from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.base import documented, reply
from incidents.api.v1.schemas.custody import CheckpointOut, ProofOut
from incidents.services import checkpoints
from incidents.web.context import get_keys, settings
from incidents.web.db import get_session


@blueprint.get("/custody/checkpoint")
@documented("The latest signed checkpoint (C2SP tlog-checkpoint note) and verifier key",
            response=CheckpointOut, errors=(404,))
def custody_checkpoint() -> Response:
    cp = checkpoints.public_checkpoint(get_session())
    origin = settings().custody_origin
    return reply(CheckpointOut(
        size=cp.size, root=cp.root.hex(),
        root_base64=base64.b64encode(cp.root).decode("ascii"),
        signed_at=cp.signed_at.isoformat(), note=cp.note,
        verifier_key=checkpoints.verifier_key(get_keys(), origin)))


@blueprint.get("/custody/proof/<int:seq>")
@documented("RFC 6962 inclusion proof of custody event `seq` in the latest checkpoint",
            response=ProofOut, errors=(404, 409))
def custody_proof(seq: int) -> Response:
    proof = checkpoints.inclusion_proof(get_session(), seq)
    return reply(ProofOut(
        seq=proof.seq, leaf_index=proof.seq, tree_size=proof.tree_size,
        event_hash=proof.event_hash.hex(), leaf_hash=proof.leaf_hash.hex(),
        hashes=[h.hex() for h in proof.hashes],
        hashes_base64=[base64.b64encode(h).decode("ascii") for h in proof.hashes],
        root=proof.root.hex(), checkpoint=proof.checkpoint))
