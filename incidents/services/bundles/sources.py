"""The custody part of a bundle, read from the ledger: events, proofs, checkpoint, key.

Kept apart from `builder` so the builder works on plain values and can be tested and
reused without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.errors import N_, Conflict
from incidents.core.settings import Settings
from incidents.models import CustodyEvent
from incidents.services import checkpoints, custody
from incidents.services.bundles.builder import BundleCustody
from storage.crypto.merkle import MerkleTree, leaf_hash
from storage.crypto.note import verifier_key


class BundleKeys(checkpoints.CustodyKeys, Protocol):
    """The application's key holder: signs checkpoints and hands out the public key."""

    def signing_public_key_pem(self) -> bytes: ...


def custody_for(session: Session, keys: BundleKeys, settings: Settings,
                subjects: Iterable[str]) -> BundleCustody:
    """Every event about `subjects`, each proven into one checkpoint (signed if needed).

    Commits the session when it has to sign a new checkpoint.
    """
    events = {e.seq: e for subject in sorted(set(subjects))
              for e in custody.events_for(session, subject)}
    latest = checkpoints.latest_checkpoint(session)
    if latest is None or (events and latest.size <= max(events)):
        latest = checkpoints.checkpoint(session, keys, settings)
    query = (select(CustodyEvent.hash).where(CustodyEvent.seq < latest.size)
             .order_by(CustodyEvent.seq))
    tree = MerkleTree(leaf_hash(h) for h in session.scalars(query))
    if tree.size != latest.size or tree.root() != latest.root:
        raise Conflict(N_("The ledger no longer matches its checkpoint; run `custody verify`."))
    ordered = [events[seq] for seq in sorted(events)]
    proofs = {e.seq: [h.hex() for h in tree.inclusion_proof(e.seq, latest.size)]
              for e in ordered}
    origin = settings.custody_origin
    return BundleCustody(
        events=[custody.event_json(e) for e in ordered],
        proofs=proofs,
        checkpoint_note=latest.note,
        public_key_pem=keys.signing_public_key_pem(),
        verifier_key=verifier_key(origin, keys.signing_key().public_key()),
        origin=origin,
    )
