"""The chain-of-custody ledger: appends, commitments, signed checkpoints, proofs (DESIGN §4).

Formats (canonical encoding, hash chain, commitment) are in docs/formats.md, "Custody
events"; checkpoints follow "Custody checkpoints" there. Appends are serialised on the
ledger head row (`SELECT ... FOR UPDATE` in PostgreSQL; in SQLite the whole transaction
holds the write lock, see `incidents.db.begin_write`), so concurrent writers in any number
of processes keep one gapless, linear chain. An event is written in the caller's
transaction: it commits with the change it records, or not at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Table, bindparam, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from incidents.db import begin_write
from incidents.errors import N_, CheckpointRefused, Conflict, InvalidInput, NotFound
from incidents.models.custody import HEAD_ID, Checkpoint, CustodyEvent, LedgerHead
from incidents.settings import Settings
from storage.checkpoint_state import CheckpointGuard, RollbackRefused
from storage.crypto.keys import KeyProvider
from storage.crypto.merkle import HASH_SIZE, CompactRange, MerkleTree, leaf_hash
from storage.crypto.note import NoteError, sign_checkpoint, verify_note
from storage.crypto.tsa import TimestampError, request_timestamp

log = logging.getLogger(__name__)

EVENT_FORMAT = "incidents-custody-event/v1"
GENESIS_HASH = bytes(HASH_SIZE)
COMMITMENT_TAG = b"incidents/evidence-commitment/v1"
SALT_LEN = 32
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
ACTION_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
HEX64_RE = re.compile(r"[0-9a-f]{64}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
MAX_JSON_INT = 2**53 - 1


class CustodyKeys(KeyProvider, Protocol):
    """A key provider that can also sign checkpoints (storage's VaultKeyRing is one)."""

    def signing_key(self) -> Any: ...


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


def canonical_event(seq: int, time: str, actor: str | None, action: str, subject: str,
                    commitment: str | None, details_json: str) -> bytes:
    """The bytes an event's hash covers: its fields, one per line (docs/formats.md)."""
    return "\n".join((EVENT_FORMAT, str(seq), time, actor or "", action, subject,
                      commitment or "", details_json)).encode("utf-8")


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
        raise InvalidInput(N_("The custody field %(field)s is empty, too long or has control "
                              "characters."), field=name, **{"field": name})


# --- appends -----------------------------------------------------------------------------
#
# The append path is SQLAlchemy Core on the session's connection, with no ORM flush or
# refresh. Per unit of work: one locked read of the head row (`SELECT … FOR UPDATE`;
# SQLite: the write lock taken by `begin_write`'s `BEGIN IMMEDIATE`), then the new events
# are kept in `session.info` and written together, one executemany INSERT and one UPDATE
# of the head, just before anything else can observe the transaction: its commit (also
# a savepoint's release), the start of a savepoint, an ORM flush, an ORM statement, or a
# reader in this module. A rollback discards them with everything else. The head row stays
# locked from the first append to the end of the transaction, so appends are serialised as
# before, and the chain each transaction writes continues the committed head.


@dataclass
class _Pending:
    """The locked head of the current transaction and the events not yet written."""

    transaction: SessionTransaction | None
    connection: Connection
    size: int
    hash: bytes
    rows: list[dict[str, Any]] = field(default_factory=list)


_EVENTS: Table = CustodyEvent.__table__  # type: ignore[assignment]
_HEAD: Table = LedgerHead.__table__  # type: ignore[assignment]
_PENDING = "incidents.custody.pending"  # session.info key
_SELECT_HEAD = (select(_HEAD.c.size, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ID)
                .with_for_update())
_INSERT_EVENT = _EVENTS.insert()
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
        if connection.scalar(select(func.count()).select_from(_EVENTS)):
            # Never restart a chain over existing events: that would fork history silently.
            raise Conflict(N_("The custody ledger head is missing; run `custody verify`."))
        values = {"id": HEAD_ID, "size": 0, "hash": GENESIS_HASH}
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(insert(_HEAD).values(**values).on_conflict_do_nothing())
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
    `incidents.db.begin_write(session)` at the start of the unit of work. The returned
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
    for e, details_json in prepared:
        digest = sha256(canonical_event(seq, time, e.actor, e.action, e.subject,
                                        e.commitment, details_json) + prev).digest()
        rows.append({"seq": seq, "time": time, "actor": e.actor, "action": e.action,
                     "subject": e.subject, "commitment": e.commitment,
                     "details": details_json, "prev_hash": prev, "hash": digest})
        seq, prev = seq + 1, digest
    pending.rows.extend(rows)
    pending.size, pending.hash = seq, prev
    session.info["custody_appended"] = True
    return [CustodyEvent(seq=r["seq"], time=r["time"], actor=r["actor"], action=r["action"],
                         subject=r["subject"], commitment=r["commitment"],
                         details_json=r["details"], prev_hash=r["prev_hash"], hash=r["hash"])
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
    Call `incidents.db.begin_write(session)` at the start of the unit of work. The
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


# --- checkpoints -------------------------------------------------------------------------


def _event_hashes(session: Session, size: int | None = None) -> list[bytes]:
    query = select(CustodyEvent.hash).order_by(CustodyEvent.seq)
    if size is not None:
        query = query.where(CustodyEvent.seq < size)
    return list(session.scalars(query))


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


# --- verification ------------------------------------------------------------------------

Progress = Callable[[str, int, int], None]
"""progress(phase, done, total): called now and then while verifying."""
PROGRESS_EVERY = 50_000


@dataclass(frozen=True)
class Problem:
    """One thing that does not hold: what kind, which item, what is wrong."""

    kind: str  # "event", "head", "checkpoint", "state", "blob"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class VerifyReport:
    events: int = 0
    checkpoints: int = 0
    blobs: int = 0
    problems: list[Problem] = field(default_factory=list)
    first_bad_event: int | None = None
    first_bad_blob: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, where: str, message: str) -> None:
        self.problems.append(Problem(kind, where, message))


def _no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


_SCAN_COLUMNS = (CustodyEvent.seq, CustodyEvent.time, CustodyEvent.actor, CustodyEvent.action,
                 CustodyEvent.subject, CustodyEvent.commitment, CustodyEvent.details_json,
                 CustodyEvent.prev_hash, CustodyEvent.hash)


def iter_event_rows(session: Session, batch: int = 2_000) -> Iterator[Sequence[Any]]:
    """Every event's stored columns in sequence order, streamed as plain tuples.

    (seq, time, actor, action, subject, commitment, details, prev_hash, hash), read in the
    session's transaction through the driver's cursor, not SQLAlchemy rows: a server-side
    (named) cursor fetching `batch` rows at a time in PostgreSQL, SQLite's own cursor
    (which steps through the result without loading it) otherwise. Memory stays flat.
    """
    write_pending(session)
    connection = session.connection()
    sql = str(select(*_SCAN_COLUMNS).order_by(CustodyEvent.seq)
              .compile(dialect=connection.dialect))
    dbapi_connection: Any = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        # Binary results: bytea arrives as raw bytes, not hex text to decode (~30% faster).
        with dbapi_connection.cursor(name="custody_verify_scan", binary=True) as cursor:
            cursor.itersize = batch
            cursor.execute(sql)
            yield from cursor
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.arraysize = batch
        cursor.execute(sql)
        yield from cursor
    finally:
        cursor.close()


@dataclass
class _Chain:
    """What the event scan learns: stored leaf roots at checkpoint sizes, blob commitments."""

    size: int = 0
    roots: dict[int, bytes] = field(default_factory=dict)
    commitments: dict[str, str] = field(default_factory=dict)
    last_hash: bytes = GENESIS_HASH


def _first_fault(row: Sequence[Any], expected: int, prev: bytes) -> tuple[int, str] | None:
    """What is wrong with `row` as event number `expected` after hash `prev` (or None)."""
    seq, time, actor, action, subject, commit, details, prev_hash, stored = row
    if seq != expected:
        what = "missing (deleted?)" if seq > expected else "out of order"
        return expected, (f"event {expected} is {what}: the next row has sequence number "
                          f"{seq}")
    if prev_hash != prev:
        return seq, ("previous-hash link broken (an event before it was removed, reordered "
                     "or altered)")
    canonical = canonical_event(seq, time, actor, action, subject, commit, details)
    if event_hash(canonical, prev) != stored:
        return seq, "hash mismatch: the event's fields were altered after it was recorded"
    return None


def _scan_events(session: Session, report: VerifyReport, sizes: set[int],
                 progress: Progress) -> _Chain:
    """One pass over the rows: the hash chain, and the RFC 6962 leaves of a compact range
    (roots kept at the checkpoint sizes in `sizes`). Three SHA-256 per event: the chain
    hash, the leaf hash and (amortised) one node hash."""
    total = session.scalar(select(func.count()).select_from(CustodyEvent)) or 0
    chain = _Chain()
    tree = CompactRange()
    add_leaf = tree.append
    if 0 in sizes:
        chain.roots[0] = tree.root()
    marks = sorted({s for s in sizes if s > 0} | set(range(PROGRESS_EVERY, total + 1,
                                                           PROGRESS_EVERY)))
    marks.reverse()
    mark = marks.pop() if marks else -1
    prev = GENESIS_HASH
    expected = 0
    sha256 = hashlib.sha256
    prefix = EVENT_FORMAT + "\n"
    commitments = chain.commitments
    broken = False
    for row in iter_event_rows(session):
        seq, time, actor, action, subject, commit, details, prev_hash, stored = row
        if not broken and (
                seq != expected or prev_hash != prev
                or sha256(f"{prefix}{seq}\n{time}\n{actor or ''}\n{action}\n{subject}\n"
                          f"{commit or ''}\n{details}".encode() + prev).digest() != stored):
            fault = _first_fault(row, expected, prev)
            if fault is not None:  # always, unless the text encoding above disagrees
                report.first_bad_event, message = fault
                report.add("event", f"event {fault[0]}", message)
                broken = True
        prev = stored
        add_leaf(sha256(b"\x00" + stored).digest())
        expected += 1
        if commit is not None and action == "stored" and subject.startswith("blob:"):
            commitments.setdefault(subject[5:], commit)
        if expected == mark:
            if expected in sizes:
                chain.roots[expected] = tree.root()
            if not expected % PROGRESS_EVERY:
                progress("events", expected, total)
            mark = marks.pop() if marks else -1
    progress("events", expected, total)
    chain.size = expected
    chain.last_hash = prev
    report.events = expected
    return chain


def _check_head(session: Session, report: VerifyReport, chain: _Chain) -> None:
    current = head(session)
    size = current.size if current else 0
    last = current.hash if current else GENESIS_HASH
    if size != chain.size or last != chain.last_hash:
        report.add("head", "ledger head", f"the head records {size} events but the table "
                   f"holds {chain.size} (events deleted or added outside the ledger)")


def _check_checkpoints(session: Session, keys: CustodyKeys, settings: Settings,
                       report: VerifyReport, chain: _Chain, rows: list[Checkpoint]) -> None:
    public = keys.signing_key().public_key()
    origin = settings.custody_origin
    largest = -1
    for row in sorted(rows, key=lambda r: (r.signed_at, r.id)):
        where = f"checkpoint {row.size}"
        report.checkpoints += 1
        try:
            parsed = verify_note(row.note, public, origin)
        except NoteError as e:
            report.add("checkpoint", where, f"signature does not verify with this server's "
                       f"key ({type(e).__name__})")
            continue
        if parsed.origin != origin or parsed.size != row.size or parsed.root != row.root:
            report.add("checkpoint", where, "the signed note does not match its database row")
            continue
        if row.size < largest:
            report.add("checkpoint", where, f"tree size went backwards: signed after a "
                       f"checkpoint of size {largest}")
        largest = max(largest, row.size)
        if row.size > chain.size:
            report.add("checkpoint", where, f"covers {row.size} events but the ledger holds "
                       f"{chain.size} (events deleted, or an old backup restored)")
        elif chain.roots.get(row.size) != row.root:
            report.add("checkpoint", where, "root does not match the ledger: signed history "
                       "was rewritten")
    state = CheckpointGuard(settings.checkpoint_state_file).current()
    if state is None:
        return
    where = f"state file ({settings.checkpoint_state_file.name})"
    if state.size > chain.size:
        report.add("state", where, f"the last signed checkpoint covers {state.size} events "
                   f"but the ledger holds {chain.size}: an old database backup was restored "
                   "or events were deleted")
    elif chain.roots.get(state.size) != state.root:
        report.add("state", where, f"the ledger's first {state.size} events do not match "
                   "the last signed checkpoint: history was rewritten")


def verify(session: Session, keys: CustodyKeys, settings: Settings, *,
           blobs: Callable[[VerifyReport, dict[str, str], Progress], None] | None = None,
           progress: Progress | None = None) -> VerifyReport:
    """Recompute the chain, every checkpoint signature and root, and the outside state.

    `blobs`, if given, is called with the report and the commitment of each blob's
    "stored" event to check the blobs too (see `incidents.services.blobs.verify_blobs`).
    """
    progress = progress or _no_progress
    report = VerifyReport()
    rows = list(session.scalars(select(Checkpoint)))
    state = CheckpointGuard(settings.checkpoint_state_file).current()
    sizes = {r.size for r in rows} | ({state.size} if state else set())
    chain = _scan_events(session, report, sizes, progress)
    _check_head(session, report, chain)
    _check_checkpoints(session, keys, settings, report, chain, rows)
    if blobs is not None:
        blobs(report, chain.commitments, progress)
    session.rollback()
    return report


def public_checkpoint(session: Session) -> Checkpoint:
    """The latest signed checkpoint, or NotFound before the first one."""
    cp = latest_checkpoint(session)
    if cp is None:
        raise NotFound(N_("No checkpoint has been signed yet."))
    return cp
