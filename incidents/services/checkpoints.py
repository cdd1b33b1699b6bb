"""Signed checkpoints over the custody ledger, and proofs against them (DESIGN §4).

Formats follow docs/formats.md, "Custody checkpoints": an RFC 6962 Merkle tree over the
event hashes, signed as a C2SP note, optionally timestamped (RFC 3161). Checkpoints are
signed automatically every N events or M minutes (`maybe_checkpoint`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incidents.core.database import begin_write
from incidents.core.errors import N_, CheckpointRefused, Conflict, InvalidInput, NotFound
from incidents.core.settings import Settings
from incidents.models.custody import Checkpoint, CustodyEvent
from incidents.services.custody import head
from storage.checkpoint_state import CheckpointGuard, RollbackRefused
from storage.crypto.keys import KeyProvider
from storage.crypto.merkle import (
    ConsistencyProofError,
    MerkleTree,
    leaf_hash,
    verify_consistency,
)
from storage.crypto.note import SigningPublicKey, public_key_from_pem, sign_checkpoint
from storage.crypto.note import verifier_key as note_verifier_key
from storage.crypto.tsa import TimestampError, request_timestamp

log = logging.getLogger(__name__)


class CustodyKeys(KeyProvider, Protocol):
    """A key provider that can also sign checkpoints (storage's VaultKeyRing is one)."""

    def signing_key(self) -> Any: ...

    def signing_public_key_pem(self) -> bytes: ...


def signing_public_key(keys: CustodyKeys) -> SigningPublicKey:
    """The checkpoint signer's public key: all any verification needs (never the private
    key, which a sealed key provider may not hand out)."""
    return public_key_from_pem(keys.signing_public_key_pem())


# --- checkpoints -------------------------------------------------------------------------


def _event_hashes(session: Session, size: int | None = None) -> list[bytes]:
    query = select(CustodyEvent.hash).order_by(CustodyEvent.seq)
    if size is not None:
        query = query.where(CustodyEvent.seq < size)
    return list(session.scalars(query))


def verifier_key(keys: CustodyKeys, origin: str) -> str:
    """The signed-note verifier key of `origin` (what a checkpoint's reader needs)."""
    return note_verifier_key(origin, signing_public_key(keys))


def latest_checkpoint(session: Session) -> Checkpoint | None:
    query = select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1)
    return session.scalars(query).first()


def checkpoint(session: Session, keys: CustodyKeys, settings: Settings,
               *, now: datetime | None = None) -> Checkpoint:
    """Sign a checkpoint over every committed event and record it (commits the session).

    The (size, root) is first checked against the state file outside the database
    (`CheckpointGuard`): a smaller tree, or one inconsistent with the last signed tree (an
    old backup restored, history rewritten), is refused with CheckpointRefused. Concurrent
    signers never produce two roots for one size: the guard serialises them and the
    size column is unique.
    """
    session.commit()  # a fresh snapshot: everything committed so far
    hashes = _event_hashes(session)
    session.commit()
    size = len(hashes)
    tree = MerkleTree(leaf_hash(h) for h in hashes)
    root = tree.root()
    guard = CheckpointGuard(settings.checkpoint_state_file)
    origin = settings.custody_origin
    try:
        with guard.advance(size, root, proof=tree.consistency_proof) as reservation:
            begin_write(session)
            existing = session.scalars(select(Checkpoint).where(Checkpoint.size == size)).first()
            if existing is not None:  # a concurrent signer was first
                session.commit()
                if existing.root != root:
                    raise CheckpointRefused(N_("A different root was already signed for "
                                               "this tree size."))
                return existing
            # The database's newest checkpoint too, not only this host's state file: signers
            # on other hosts (each with its own state file) must not fork the log either.
            newest = latest_checkpoint(session)
            if newest is not None and newest.size > size:
                session.commit()
                return newest  # another signer covered more meanwhile; ours is a prefix
            if newest is not None and newest.size > 0:
                try:
                    verify_consistency(newest.size, size, newest.root, root,
                                       tree.consistency_proof(newest.size, size))
                except ConsistencyProofError as e:
                    raise RollbackRefused("inconsistent with the newest signed checkpoint "
                                          "in the database") from e
            when = (now or datetime.now(UTC)).replace(microsecond=0)
            note = sign_checkpoint(origin, size, root, when, keys.signing_key(), origin)
            row = Checkpoint(size=size, root=root, note=note, signed_at=when)
            session.add(row)
            session.commit()
            reservation.commit(note, when)
    except RollbackRefused as e:
        session.rollback()
        newer = _newer_from_race(session, guard, size)
        if newer is not None:
            return newer
        log.error("checkpoint refused: %s", e)
        raise CheckpointRefused(N_("The signer refused this checkpoint: the ledger is smaller "
                                   "than, or inconsistent with, the last signed checkpoint "
                                   "(was an old backup restored?).")) from e
    except IntegrityError:
        session.rollback()
        existing = session.scalars(select(Checkpoint).where(Checkpoint.size == size)).first()
        if existing is None or existing.root != root:
            raise
        return existing
    _timestamp(session, row, settings)
    return row


def _newer_from_race(session: Session, guard: CheckpointGuard, size: int) -> Checkpoint | None:
    """A checkpoint another signer recorded for a larger tree meanwhile (not a rollback)."""
    state = guard.current()
    if state is None or state.size <= size:
        return None
    row = session.scalars(select(Checkpoint).where(Checkpoint.size == state.size)).first()
    if row is None or row.root != state.root:
        return None
    return row


def _timestamp(session: Session, row: Checkpoint, settings: Settings) -> None:
    """Attach an RFC 3161 token when a timestamp authority is configured (best effort)."""
    if not settings.tsa_url:
        return
    try:
        token = request_timestamp(row.note.encode("utf-8"), settings.tsa_url)
    except TimestampError as e:
        log.warning("checkpoint %d not timestamped: %s", row.size, type(e).__name__)
        return
    begin_write(session)
    session.execute(update(Checkpoint).where(Checkpoint.id == row.id).values(tsa_token=token))
    session.commit()
    row.tsa_token = token


def checkpoint_due(session: Session, settings: Settings, *, now: datetime | None = None) -> bool:
    """Whether N events or M minutes have passed since the last checkpoint."""
    current = head(session)
    if current is None or current.size == 0:
        return False
    latest = latest_checkpoint(session)
    signed = latest.size if latest else 0
    pending = current.size - signed
    if pending <= 0:
        return False
    if pending >= settings.checkpoint_every_events:
        return True
    oldest = session.get(CustodyEvent, signed)
    if oldest is None:
        return True
    age = (now or datetime.now(UTC)) - oldest.occurred_at
    return age >= timedelta(minutes=settings.checkpoint_every_minutes)


def maybe_checkpoint(session: Session, keys: CustodyKeys, settings: Settings,
                     *, now: datetime | None = None) -> Checkpoint | None:
    """Sign a checkpoint if one is due (see `checkpoint_due`); commits the session."""
    due = checkpoint_due(session, settings, now=now)
    session.commit()
    if not due:
        return None
    return checkpoint(session, keys, settings, now=now)


# --- proofs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InclusionProof:
    """That event `seq` (leaf index `seq`) is in the checkpoint's tree (RFC 6962 §2.1.1)."""

    seq: int
    tree_size: int
    event_hash: bytes
    leaf_hash: bytes
    hashes: list[bytes]
    root: bytes
    checkpoint: str


def inclusion_proof(session: Session, seq: int,
                    checkpoint: Checkpoint | None = None) -> InclusionProof:
    """Prove event `seq` is in `checkpoint` (default: the latest)."""
    cp = checkpoint or latest_checkpoint(session)
    if cp is None or not 0 <= seq < cp.size:
        raise NotFound(N_("This event is not in a signed checkpoint yet."))
    hashes = _event_hashes(session, cp.size)
    if len(hashes) != cp.size:
        raise Conflict(N_("The ledger no longer matches its checkpoint; run `custody verify`."))
    tree = MerkleTree(leaf_hash(h) for h in hashes)
    if tree.root() != cp.root:
        raise Conflict(N_("The ledger no longer matches its checkpoint; run `custody verify`."))
    return InclusionProof(seq=seq, tree_size=cp.size, event_hash=hashes[seq],
                          leaf_hash=leaf_hash(hashes[seq]),
                          hashes=tree.inclusion_proof(seq, cp.size), root=cp.root,
                          checkpoint=cp.note)


def consistency_proof(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """RFC 6962 §2.1.2 proof that the first `old_size` events are a prefix of `new_size`."""
    hashes = _event_hashes(session, new_size)
    if not 0 <= old_size <= new_size <= len(hashes):
        raise NotFound(N_("No such tree size."))
    return MerkleTree(leaf_hash(h) for h in hashes).consistency_proof(old_size, new_size)


MAX_TREE_SIZE = 2**53 - 1


def parse_size(value: str | None, name: str) -> int:
    """A tree size from a query string: a decimal integer in 0..2^53-1, or InvalidInput."""
    if value is None or not value.isdigit() or len(value) > 16 or int(value) > MAX_TREE_SIZE:
        raise InvalidInput(N_("The field %(name)s must be a tree size (a whole number)."),
                           field=name, name=name)
    return int(value)


def signed_checkpoint(session: Session, size: int) -> Checkpoint:
    """The checkpoint signed for exactly `size` events, or NotFound."""
    row = session.scalars(select(Checkpoint).where(Checkpoint.size == size)).first()
    if row is None:
        raise NotFound(N_("No checkpoint was signed for this tree size."))
    return row


def public_consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    """RFC 6962 §2.1.2 proof between two tree sizes within the latest signed checkpoint:
    what anyone holding an older checkpoint (a receipt, a bundle) checks the log with."""
    if first > second:
        raise InvalidInput(N_("The field %(name)s must not be larger than second."),
                           field="first", name="first")
    latest = public_checkpoint(session)
    if second > latest.size:
        raise NotFound(N_("No checkpoint covers this tree size yet."))
    proof = consistency_proof(session, first, second)
    session.rollback()
    return proof


def public_checkpoint(session: Session) -> Checkpoint:
    """The latest signed checkpoint, or NotFound before the first one."""
    cp = latest_checkpoint(session)
    if cp is None:
        raise NotFound(N_("No checkpoint has been signed yet."))
    return cp
