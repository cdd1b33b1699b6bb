"""The chain-of-custody ledger: events, their canonical encoding, commitments, appends (DESIGN §4).

Formats (canonical encoding, hash chain, commitment) are in docs/formats.md, "Custody
events". Appends are serialised on the ledger head row (`SELECT ... FOR UPDATE` in
PostgreSQL; in SQLite the whole transaction holds the write lock, see
`incidents.core.database.begin_write`), so concurrent writers in any number of processes keep one
gapless, linear chain. An event is written in the caller's transaction: it commits with
the change it records, or not at all. Signed checkpoints and proofs are in
incidents.services.checkpoints, verification in incidents.services.ledger_verify.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from incidents.core.errors import N_, Conflict, InvalidInput
from incidents.models.custody import HEAD_ID, CustodyEvent, LedgerHead
from storage.crypto.merkle import HASH_SIZE

# Events written now are v2 (a per-subject chain and an actor commitment); v1 events keep
# their format and are verified as v1 (docs/formats.md "Custody events").
EVENT_FORMAT_V1 = "incidents-custody-event/v1"
EVENT_FORMAT = "incidents-custody-event/v2"
GENESIS_HASH = bytes(HASH_SIZE)
COMMITMENT_TAG = b"incidents/evidence-commitment/v1"
ACTOR_TAG = b"incidents/actor-commitment/v1"
STATEMENT_TAG = b"incidents/statement-commitment/v1"
SALT_LEN = 32
ACTOR_SALT_LEN = 16
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
ACTION_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
HEX64_RE = re.compile(r"[0-9a-f]{64}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
MAX_JSON_INT = 2**53 - 1


# --- canonical encoding ------------------------------------------------------------------


def canonical_details(details: dict[str, Any]) -> str:
    """The canonical JSON text of an event's details (RFC 8785 for the subset allowed).

    Allowed: objects with ASCII keys, arrays, strings, integers within ±(2^53 - 1),
    booleans and null. Floats are refused: their text form is not portable.
    """
    _check_json(details, depth=0)
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _check_json(value: Any, depth: int) -> None:
    if depth > 16:
        raise InvalidInput(N_("Custody details are nested too deeply."))
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_JSON_INT:
            raise InvalidInput(N_("Custody details hold an integer out of range."))
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_json(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise InvalidInput(N_("Custody detail names must be ASCII strings."))
            _check_json(item, depth + 1)
        return
    raise InvalidInput(N_("Custody details may hold only strings, integers, booleans, "
                          "null, lists and objects."))


def actor_commitment(actor: str | None, salt: bytes | None) -> str:
    """SHA-256(actor tag ‖ 16-byte salt ‖ actor, UTF-8), hex; "" when there is no actor.

    What a v2 event's hash covers instead of the actor, so a bundle can show a per-bundle
    pseudonym and still let the hash be recomputed; the server opens it for a court by
    revealing the actor and the salt (docs/formats.md "Actor commitments").
    """
    if actor is None:
        return ""
    if salt is None or len(salt) != ACTOR_SALT_LEN:
        raise ValueError("an actor commitment needs a 16-byte salt")
    return hashlib.sha256(ACTOR_TAG + salt + actor.encode("utf-8")).hexdigest()


def canonical_event(seq: int, time: str, actor: str | None, action: str, subject: str,
                    commitment: str | None, details_json: str, *,
                    subject_prev: bytes | None = None,
                    actor_salt: bytes | None = None) -> bytes:
    """The bytes an event's hash covers: its fields, one per line (docs/formats.md).

    v1 (no `subject_prev`): format, seq, time, actor, action, subject, commitment, details.
    v2: format, seq, time, actor commitment, action, subject, commitment, subject_prev
    (hex), details.
    """
    if subject_prev is None:
        return "\n".join((EVENT_FORMAT_V1, str(seq), time, actor or "", action, subject,
                          commitment or "", details_json)).encode("utf-8")
    return "\n".join((EVENT_FORMAT, str(seq), time, actor_commitment(actor, actor_salt),
                      action, subject, commitment or "", subject_prev.hex(),
                      details_json)).encode("utf-8")


def event_hash(canonical: bytes, prev_hash: bytes) -> bytes:
    """hash = SHA-256(canonical encoding ‖ previous hash)."""
    return hashlib.sha256(canonical + prev_hash).digest()


def commitment(plaintext_sha256: str, salt: bytes) -> str:
    """The salted commitment SHA-256(tag ‖ salt ‖ SHA-256 of the plaintext), hex (DESIGN §3)."""
    if len(salt) != SALT_LEN or not HEX64_RE.fullmatch(plaintext_sha256):
        raise ValueError("a commitment needs a 32-byte salt and a hex SHA-256")
    return hashlib.sha256(COMMITMENT_TAG + salt + bytes.fromhex(plaintext_sha256)).hexdigest()


def format_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime(TIME_FORMAT)


def _check_field(value: str, name: str, max_length: int) -> None:
    if not value or len(value) > max_length or _CONTROL_RE.search(value):
        raise InvalidInput(N_("The custody field %(name)s is empty, too long or has control "
                              "characters."), field=name, name=name)


# --- appends -----------------------------------------------------------------------------
#
# The append path is SQLAlchemy Core on the session's connection, with no ORM flush or
# refresh. Per unit of work: one locked read of the head row (`SELECT … FOR UPDATE`;
# SQLite: the write lock taken by `begin_write`'s `BEGIN IMMEDIATE`), then the new events
# are kept in `session.info` and written together, one executemany INSERT and one UPDATE
# of the head, just before anything else can observe the transaction: its commit (also
# a savepoint's release), the start of a savepoint, an ORM flush, an ORM statement, or a
# ledger reader (`head`, `ledger_verify.iter_event_rows`). A rollback discards them with
# everything else. The head row stays locked from the first append to the end of the
# transaction, so appends are serialised as before, and the chain each transaction writes
# continues the committed head.


@dataclass
class _Pending:
    """The locked head of the current transaction and the events not yet written."""

    transaction: SessionTransaction | None
    connection: Connection
    size: int
    hash: bytes
    rows: list[dict[str, Any]] = field(default_factory=list)
    # subject -> hash of its last event, for the events of this transaction's chain
    subject_heads: dict[str, bytes] = field(default_factory=dict)


_EVENTS: Table = CustodyEvent.__table__  # type: ignore[assignment]
_HEAD: Table = LedgerHead.__table__  # type: ignore[assignment]
_PENDING = "incidents.custody.pending"  # session.info key
_SELECT_HEAD = (select(_HEAD.c.size, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ID)
                .with_for_update())
_INSERT_EVENT = _EVENTS.insert()
_SUBJECT_HEAD = (select(_EVENTS.c.hash).where(_EVENTS.c.subject == bindparam("subject"))
                 .order_by(_EVENTS.c.seq.desc()).limit(1))
_UPDATE_HEAD = (update(_HEAD).where(_HEAD.c.id == HEAD_ID)
                .values(size=bindparam("new_size"), hash=bindparam("new_hash")))


@dataclass(frozen=True)
class NewEvent:
    """One event for `append_many` (the same fields as `append`'s arguments)."""

    actor: str | None
    action: str
    subject: str
    commitment: str | None = None
    details: dict[str, Any] | None = None


def _current_transaction(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def write_pending(session: Session) -> None:
    """Write the events appended in this transaction and not written yet (idempotent).

    Called by the session hooks below; call it yourself only before reading the ledger
    through `session.connection()` directly in the transaction that appended.
    """
    pending: _Pending | None = session.info.get(_PENDING)
    if pending is None or not pending.rows:
        return
    rows, pending.rows = pending.rows, []
    try:
        pending.connection.execute(_INSERT_EVENT, rows)
        pending.connection.execute(_UPDATE_HEAD, {"new_size": pending.size,
                                                  "new_hash": pending.hash})
    except BaseException:
        session.info.pop(_PENDING, None)  # the transaction is failing; never reuse the head
        raise


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    write_pending(session)


@event.listens_for(Session, "do_orm_execute")
def _before_execute(state: ORMExecuteState) -> None:
    write_pending(state.session)


@event.listens_for(Session, "after_transaction_create")
def _after_transaction_create(session: Session, transaction: SessionTransaction) -> None:
    # Before the SAVEPOINT is emitted (lazily, after this hook): the outer transaction's
    # events must not be undone by rolling back the savepoint.
    if transaction.nested:
        write_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    pending: _Pending | None = session.info.get(_PENDING)
    if pending is not None and (pending.transaction is transaction
                                or transaction.parent is None):
        session.info.pop(_PENDING, None)


def _lock_head(session: Session) -> _Pending:
    """The ledger head, locked for this transaction (created on first use)."""
    connection = session.connection()
    transaction = _current_transaction(session)
    pending: _Pending | None = session.info.get(_PENDING)
    if pending is not None and pending.transaction is transaction:
        return pending
    write_pending(session)
    row = connection.execute(_SELECT_HEAD).first()
    if row is None:
        # First use. Two writers may both find no head: the INSERT waits for a rival's
        # uncommitted one and then does nothing, so exactly one of them creates it, and
        # the other locks the head its rival committed (with the events after it).
        values = {"id": HEAD_ID, "size": 0, "hash": GENESIS_HASH}
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        created = connection.execute(insert(_HEAD).values(**values).on_conflict_do_nothing()
                                     .returning(_HEAD.c.id)).first() is not None
        if created and connection.scalar(select(func.count()).select_from(_EVENTS)):
            # Never restart a chain over existing events: that would fork history silently.
            raise Conflict(N_("The custody ledger head is missing; run `custody verify`."))
        row = connection.execute(_SELECT_HEAD).one()
    pending = _Pending(transaction=transaction, connection=connection, size=row[0],
                       hash=row[1])
    session.info[_PENDING] = pending
    return pending


def _prepare(actor: str | None, action: str, subject: str, commitment: str | None,
             details: dict[str, Any] | None) -> str:
    """Check an event's fields; return its canonical details text."""
    if actor is not None:
        _check_field(actor, "actor", 64)
    if not ACTION_RE.fullmatch(action):
        raise InvalidInput(N_("Invalid custody action."), field="action")
    _check_field(subject, "subject", 128)
    if commitment is not None and not HEX64_RE.fullmatch(commitment):
        raise InvalidInput(N_("A commitment is 64 lowercase hex digits."), field="commitment")
    return canonical_details(details or {})


def append_many(session: Session, events: Sequence[NewEvent], *,
                now: datetime | None = None) -> list[CustodyEvent]:
    """Add several events, in order, to the caller's transaction; they commit (or roll
    back) with it, written by one executemany INSERT and one head UPDATE.

    Every event is checked before any is added: one invalid event adds none. Call
    `incidents.core.database.begin_write(session)` at the start of the unit of work. The returned
    CustodyEvent objects are detached copies of the rows (not in the session).
    """
    prepared = [(e, _prepare(e.actor, e.action, e.subject, e.commitment, e.details))
                for e in events]
    if not prepared:
        return []
    time = format_time(now or datetime.now(UTC))
    pending = _lock_head(session)
    seq, prev = pending.size, pending.hash
    rows: list[dict[str, Any]] = []
    sha256 = hashlib.sha256
    heads = pending.subject_heads
    for e, details_json in prepared:
        subject_prev = heads.get(e.subject)
        if subject_prev is None:
            # Under the head lock: no other transaction can append to this subject now.
            subject_prev = pending.connection.scalar(_SUBJECT_HEAD, {"subject": e.subject}) \
                or GENESIS_HASH
        salt = secrets.token_bytes(ACTOR_SALT_LEN) if e.actor is not None else None
        digest = sha256(canonical_event(seq, time, e.actor, e.action, e.subject,
                                        e.commitment, details_json, subject_prev=subject_prev,
                                        actor_salt=salt) + prev).digest()
        rows.append({"seq": seq, "time": time, "actor": e.actor, "action": e.action,
                     "subject": e.subject, "commitment": e.commitment,
                     "details": details_json, "prev_hash": prev, "hash": digest,
                     "subject_prev": subject_prev, "actor_salt": salt})
        heads[e.subject] = digest
        seq, prev = seq + 1, digest
    pending.rows.extend(rows)
    pending.size, pending.hash = seq, prev
    session.info["custody_appended"] = True
    return [CustodyEvent(seq=r["seq"], time=r["time"], actor=r["actor"], action=r["action"],
                         subject=r["subject"], commitment=r["commitment"],
                         details_json=r["details"], prev_hash=r["prev_hash"], hash=r["hash"],
                         subject_prev=r["subject_prev"], actor_salt=r["actor_salt"])
            for r in rows]


def append(
    session: Session,
    *,
    actor: str | None,
    action: str,
    subject: str,
    commitment: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> CustodyEvent:
    """Add an event to the caller's transaction; it commits (or rolls back) with it.

    `actor` is a pseudonymous public id (never a name); `commitment` a hex salted hash.
    Call `incidents.core.database.begin_write(session)` at the start of the unit of work. The
    returned CustodyEvent is a detached copy of the row (not in the session).
    """
    (event_,) = append_many(session, [NewEvent(actor, action, subject, commitment, details)],
                            now=now)
    return event_


def head(session: Session) -> LedgerHead | None:
    write_pending(session)
    return session.get(LedgerHead, HEAD_ID, populate_existing=True)


def events_for(session: Session, subject: str) -> list[CustodyEvent]:
    query = select(CustodyEvent).where(CustodyEvent.subject == subject)
    return list(session.scalars(query.order_by(CustodyEvent.seq)))


def event_json(event: CustodyEvent) -> dict[str, Any]:
    """An event as evidence bundles and witness receipts write it: the hashed fields.

    A v2 event's hash covers `actor_commitment`, not `actor`: a bundle replaces `actor`
    with a per-bundle pseudonym; a v1 event's hash covers `actor` itself.
    """
    extra: dict[str, Any] = {"format": EVENT_FORMAT_V1}
    if event.subject_prev is not None:
        extra = {"format": EVENT_FORMAT,
                 "actor_commitment": actor_commitment(event.actor, event.actor_salt),
                 "subject_prev": event.subject_prev.hex()}
    return {
        **extra,
        "seq": event.seq,
        "time": event.time,
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "commitment": event.commitment,
        "details": event.details_json,  # the canonical text the hash covers
        "prev_hash": event.prev_hash.hex(),
        "hash": event.hash.hex(),
    }
