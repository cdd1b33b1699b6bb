"""The custody part of a bundle, read from the ledger: events, proofs, checkpoint, key.

Kept apart from `builder` so the builder works on plain values and can be tested and
reused without a database.

A bundle proves it is complete (docs/formats.md "Bundle statement"): for every item it
carries each of the item's subjects' whole chains (v2 events link to the previous event
of their subject), and a `bundle_statement` event, appended here before the checkpoint is
signed, names the items, the last event of each subject chain and the payload manifest's
hash. The statement is proven into the bundle's checkpoint like every other event, so an
older checkpoint cannot be swapped in without losing it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.database import begin_write
from incidents.core.errors import N_, Conflict
from incidents.core.settings import Settings
from incidents.models import CustodyEvent
from incidents.services import checkpoints, custody
from incidents.services.bundles.bag import STATEMENT_FORMAT, BundleCustody
from storage.crypto.merkle import MerkleTree, leaf_hash

Pseudonyms = Callable[[str], str]
"""pseudonym(actor public id) -> the label a bundle shows (W1, R1, ...)."""


class BundleKeys(checkpoints.CustodyKeys, Protocol):
    """The application's key holder: signs checkpoints and hands out the public key."""

    def signing_public_key_pem(self) -> bytes: ...


def _numbered(prefix: str) -> Pseudonyms:
    labels: dict[str, str] = {}
    return lambda actor: labels.setdefault(actor, f"{prefix}{len(labels) + 1}")


def custody_for(session: Session, keys: BundleKeys, settings: Settings,
                subjects: Mapping[str, Sequence[str]], *, bundle_id: str,
                payload_manifest_sha256: str, about: str = "",
                withheld: Sequence[str] = (), actor: str | None = None,
                pseudonyms: Pseudonyms | None = None) -> BundleCustody:
    """Every event about each item's `subjects` (item id -> subjects), a bundle statement
    committing to them, all proven into one checkpoint signed after the statement.

    Commits the session (the statement is appended and a checkpoint signed). v2 events
    show `pseudonyms(actor)` instead of the actor; v1 events must keep the actor, which
    their hash covers.
    """
    pseudonym = pseudonyms or _numbered("U")
    chains: dict[str, list[dict[str, Any]]] = {}
    events: dict[int, CustodyEvent] = {}
    for item_id in sorted(subjects):
        ends = []
        for subject in sorted(set(subjects[item_id])):
            found = custody.events_for(session, subject)
            if not found:
                continue
            events.update((e.seq, e) for e in found)
            ends.append({"subject": subject, "seq": found[-1].seq,
                         "hash": found[-1].hash.hex()})
        chains[item_id] = ends
    # The labels are bound by the statement: label -> the actor commitments it stands for,
    # so a forger cannot move an action from one pseudonym to another.
    actors: dict[str, list[str]] = {}
    for e in sorted(events.values(), key=lambda e: e.seq):
        if e.subject_prev is not None and e.actor is not None:
            actors.setdefault(pseudonym(e.actor), []).append(
                custody.actor_commitment(e.actor, e.actor_salt))
    begin_write(session)
    statement = custody.append(session, actor=actor, action="bundle_statement",
                               subject=f"bundle:{bundle_id}", details={
                                   "format": STATEMENT_FORMAT,
                                   "bundle": bundle_id,
                                   "about": about,
                                   "items": chains,
                                   "actors": actors,
                                   "withheld": sorted(withheld),
                                   "payload_manifest_sha256": payload_manifest_sha256,
                               })
    session.commit()
    events[statement.seq] = statement
    latest = checkpoints.latest_checkpoint(session)
    if latest is None or latest.size <= statement.seq:
        latest = checkpoints.checkpoint(session, keys, settings)
    if latest.size <= statement.seq:  # another signer answered for a smaller tree
        latest = checkpoints.checkpoint(session, keys, settings)
    query = (select(CustodyEvent.hash).where(CustodyEvent.seq < latest.size)
             .order_by(CustodyEvent.seq))
    tree = MerkleTree(leaf_hash(h) for h in session.scalars(query))
    session.rollback()
    if tree.size != latest.size or tree.root() != latest.root:
        raise Conflict(N_("The ledger no longer matches its checkpoint; run `custody verify`."))
    ordered = [events[seq] for seq in sorted(events)]
    proofs = {e.seq: [h.hex() for h in tree.inclusion_proof(e.seq, latest.size)]
              for e in ordered}
    shown = []
    for e in ordered:
        record = custody.event_json(e)
        if e.subject_prev is not None and e.actor is not None:
            record["actor"] = pseudonym(e.actor)
        shown.append(record)
    origin = settings.custody_origin
    return BundleCustody(
        events=shown,
        proofs=proofs,
        checkpoint_note=latest.note,
        public_key_pem=keys.signing_public_key_pem(),
        verifier_key=checkpoints.verifier_key(keys, origin),
        origin=origin,
        tsa_token=latest.tsa_token,
    )
