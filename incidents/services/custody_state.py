"""The ledger as the source of truth for state: what events say, replayed and compared.

Every fact a court relies on is committed in an event when it is set or changed
(docs/formats.md "State in the ledger"): that an item exists and which blob holds it
(`received`, `baseline` on `evidence:<id>`), a blob's removal (`removed` on `blob:<id>`),
the witness's statement and consent as a salted commitment (`submitted`, `baseline` on
`submission:<id>`), a submission's status (`status_changed`), an incident's publication
(`published`, `unpublished`, `merged`) and its submissions and items (a digest in every
event that changes them: `incident_created`, `incident_linked`, `merged`, `split`), an
item's derivatives (`derivative_made`: which blob holds its preview, poster, playable
copy). `StateReplay` is fed the events once, during the
chain scan of `ledger_verify.verify`, and `compare` then streams the tables and names
every row that disagrees with the ledger. `baseline` writes the one-time event per
existing submission and item of an instance that predates this.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.database import begin_write
from incidents.models import (
    BlobRecord,
    BlobStatus,
    EvidenceItem,
    IncidentItem,
    IncidentSubmission,
    MediaDerivative,
    Submission,
)
from incidents.models.incidents import Incident
from incidents.services import custody
from incidents.services.state_commitments import (
    STATEMENT_COLUMNS,
    commit_statement,
    members_digest,
    members_of,
    statement_commitment,
    statement_from_columns,
)

log = logging.getLogger(__name__)

# The actions that change state the replay follows; any other action is skipped at the
# cost of one set lookup per event.
STATE_ACTIONS = frozenset({"received", "baseline", "submitted", "status_changed", "removed",
                           "published", "unpublished", "merged", "stored", "incident_created",
                           "incident_linked", "split", "derivative_made",
                           "consent_withdrawn"})
# The actions that bring a subject into being: from then on its row must exist (blobs keep
# their row when removed; items, submissions and incidents are never deleted).
CREATING = {"evidence": ("received", "baseline"), "submission": ("submitted", "baseline"),
            "blob": ("stored",), "incident": ("incident_created", "split", "baseline")}


# --- replay ------------------------------------------------------------------------------


@dataclass
class _Item:
    seq: int
    blob: str | None
    submission: str | None


@dataclass
class StateReplay:
    """What the ledger says the state is, built event by event (`feed`)."""

    items: dict[str, _Item] = field(default_factory=dict)
    statements: dict[str, tuple[int, str]] = field(default_factory=dict)
    statuses: dict[str, tuple[int, str]] = field(default_factory=dict)
    removed_blobs: dict[str, int] = field(default_factory=dict)
    published: dict[str, tuple[int, bool]] = field(default_factory=dict)
    members: dict[str, tuple[int, str]] = field(default_factory=dict)
    # item public id -> derivative kind -> (seq, blob id)
    derivatives: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)
    created: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind: {} for kind in CREATING})

    def feed(self, seq: int, action: str, subject: str, commitment: str | None,
             details: str) -> None:
        """One event (its stored columns); called for every event, in order."""
        if action not in STATE_ACTIONS:
            return
        kind, _, ident = subject.partition(":")
        creating = CREATING.get(kind)
        if creating is not None and action in creating:
            self.created[kind].setdefault(ident, seq)
        if kind == "evidence" and action in ("received", "baseline"):
            data = _details(details)
            self.items[ident] = _Item(seq, data.get("blob"), data.get("submission"))
        elif kind == "evidence" and action == "derivative_made":
            data = _details(details)
            blob, made = data.get("derivative"), data.get("kind")
            if isinstance(blob, str) and isinstance(made, str):
                self.derivatives.setdefault(ident, {})[made] = (seq, blob.removeprefix("blob:"))
        elif kind == "submission":
            if action in ("submitted", "baseline", "consent_withdrawn") and commitment:
                self.statements[ident] = (seq, commitment)
            if action == "baseline":
                status = _details(details).get("status")
                if isinstance(status, str):
                    self.statuses[ident] = (seq, status)
            elif action == "status_changed":
                status = _details(details).get("to")
                if isinstance(status, str):
                    self.statuses[ident] = (seq, status)
        elif kind == "blob" and action == "removed":
            self.removed_blobs[ident] = seq
        elif kind == "incident":
            data = _details(details)
            members = data.get("members")
            if isinstance(members, str):
                self.members[ident] = (seq, members)
            if action == "published":
                self.published[ident] = (seq, True)
            elif action == "unpublished" or (action == "merged" and "into" in data):
                self.published[ident] = (seq, False)
            elif action == "baseline" and "published" in data:
                self.published[ident] = (seq, bool(data["published"]))


def _details(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


Report = Callable[[str, str], None]
"""report(where, message): one row that disagrees with the ledger."""


def _stream(session: Session, query: Any) -> Iterator[Any]:
    """The rows of `query` straight from the driver's cursor, without SQLAlchemy's result
    processing (it was most of the comparison's cost): values as the driver gives them,
    normalised where needed by `_when` and `_list`."""
    connection = session.connection()
    sql = str(query.compile(dialect=connection.dialect,
                            compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(5_000):
            yield from rows
    finally:
        cursor.close()


def _when(value: Any) -> datetime | None:
    """A UTC datetime column as UTCDateTime reads it: SQLite gives text, PostgreSQL a
    datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _list(value: Any) -> list[str]:
    """A JSON list column: SQLite gives its text, PostgreSQL the decoded value."""
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return value if isinstance(value, list) else []


def compare(session: Session, replay: StateReplay, report: Report) -> int:
    """Compare every tracked row with the replayed state; returns the rows checked."""
    checked = 0
    seen_items: set[str] = set()
    blob_status: dict[str, BlobStatus] = {}
    for blob_id, status in _stream(session, select(BlobRecord.id, BlobRecord.status)):
        blob_status[blob_id] = BlobStatus(status)
    for blob_id, status in sorted(blob_status.items()):
        removed = blob_id in replay.removed_blobs
        if status is BlobStatus.REMOVED and not removed:
            report(f"blobs row {blob_id}", "marked removed, but no `removed` event names why")
        elif status is not BlobStatus.REMOVED and removed:
            report(f"blobs row {blob_id}", f"active, but event {replay.removed_blobs[blob_id]} "
                   "removed it")
    query = (select(EvidenceItem.public_id, EvidenceItem.blob_id, Submission.public_id)
             .join(Submission, Submission.id == EvidenceItem.submission_id)
             .order_by(EvidenceItem.id))
    for public_id, blob_id, submission_id in _stream(session, query):
        checked += 1
        seen_items.add(public_id)
        where = f"evidence_items row {public_id}"
        state = replay.items.get(public_id)
        if state is None:
            report(where, "has no `received` or `baseline` event: it is not in the ledger")
            continue
        if state.blob != blob_id:
            report(where, f"holds blob {blob_id}, but event {state.seq} bound it to blob "
                   f"{state.blob} (the blob was re-bound)")
        if state.submission != submission_id:
            report(where, f"belongs to submission {submission_id}, but event {state.seq} put "
                   f"it in {state.submission}")
        if blob_id not in blob_status:
            report(where, f"its blob {blob_id} has no row")
    for public_id in sorted(set(replay.items) - seen_items):
        state = replay.items[public_id]
        blob_removed = state.blob is not None and state.blob in replay.removed_blobs
        why = " (its blob was removed, but an item row is never deleted)" if blob_removed else ""
        report(f"evidence item {public_id}", f"recorded by event {state.seq} but missing from "
               f"the database (deleted?){why}")
    seen_subs: set[str] = set()
    query = select(Submission.public_id, Submission.statement_salt, Submission.status,
                   *STATEMENT_COLUMNS).order_by(Submission.id)
    for public_id, salt, status_value, *columns in _stream(session, query):
        checked += 1
        seen_subs.add(public_id)
        where = f"submissions row {public_id}"
        committed = replay.statements.get(public_id)
        if committed is None or not salt:
            report(where, "its statement is not committed in the ledger (run `custody "
                   "baseline` once after upgrading)")
        else:
            try:
                (occurred, precision, date_only, place, region, withheld, categories, tags,
                 *rest) = columns
                recomputed = statement_commitment(statement_from_columns(
                    _when(occurred), precision, date_only, place, region, withheld,
                    _list(categories), _list(tags), *rest), salt, checked=False)
            except (TypeError, ValueError):
                recomputed = ""
            if recomputed != committed[1]:
                report(where, "its statement (date, time precision, place, categories, "
                       "tags, counts, consent or metadata blob) differs from the one "
                       f"committed in event {committed[0]}: edited outside the application")
        status = replay.statuses.get(public_id)
        expected = status[1] if status else "received"
        actual = getattr(status_value, "value", status_value)
        if actual != expected:
            origin = f"event {status[0]}" if status else "the ledger (no status change)"
            report(where, f"status is {actual}, but {origin} says {expected}")
    checked += _compare_derivatives(session, replay, report)
    seen_incidents: set[str] = set()
    members = _incident_members(session)
    for public_id, published in _stream(session, select(Incident.public_id,
                                                        Incident.published)):
        checked += 1
        seen_incidents.add(public_id)
        where = f"incidents row {public_id}"
        state_pub = replay.published.get(public_id)
        expected_pub = state_pub[1] if state_pub else False
        if bool(published) != expected_pub:
            origin = f"event {state_pub[0]}" if state_pub else "the ledger (never published)"
            report(where, f"published is {bool(published)}, but {origin} says {expected_pub}")
        subs, items = members.get(public_id, ([], []))
        committed = replay.members.get(public_id)
        if committed is None:
            report(where, "its submissions and items are not committed in the ledger (run "
                   "`custody baseline` once after upgrading)")
        elif members_digest(subs, items) != committed[1]:
            report(where, "its submissions and items differ from those committed in event "
                   f"{committed[0]}: linked or unlinked outside the application")
    existing = {"evidence": seen_items, "submission": seen_subs, "blob": set(blob_status),
                "incident": seen_incidents}
    for kind in ("submission", "blob", "incident"):  # items: reported above
        for ident, seq in sorted(replay.created[kind].items(), key=lambda kv: kv[1]):
            if ident not in existing[kind]:
                report(f"event {seq}", f"its subject {kind}:{ident} no longer exists in the "
                       "database (the row was deleted)")
    return checked


def _incident_members(session: Session) -> dict[str, tuple[list[str], list[str]]]:
    """incident public id -> (its submissions' public ids, its items' public ids)."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    query = (select(Incident.public_id, Submission.public_id)
             .join(IncidentSubmission, IncidentSubmission.incident_id == Incident.id)
             .join(Submission, Submission.id == IncidentSubmission.submission_id))
    for incident, submission in _stream(session, query):
        found.setdefault(incident, ([], []))[0].append(submission)
    query = (select(Incident.public_id, EvidenceItem.public_id)
             .join(IncidentItem, IncidentItem.incident_id == Incident.id)
             .join(EvidenceItem, EvidenceItem.id == IncidentItem.item_id))
    for incident, item in _stream(session, query):
        found.setdefault(incident, ([], []))[1].append(item)
    return found


def _compare_derivatives(session: Session, replay: StateReplay, report: Report) -> int:
    """Every derivative row against its `derivative_made` event, and back."""
    checked = 0
    seen: set[tuple[str, str]] = set()
    query = (select(EvidenceItem.public_id, MediaDerivative.kind, MediaDerivative.blob_id)
             .join(EvidenceItem, EvidenceItem.id == MediaDerivative.item_id)
             .order_by(MediaDerivative.id))
    for item, kind_value, blob_id in _stream(session, query):
        checked += 1
        kind = getattr(kind_value, "value", kind_value)
        seen.add((item, kind))
        made = replay.derivatives.get(item, {}).get(kind)
        where = f"media_derivatives row {item}/{kind}"
        if made is None:
            report(where, "has no `derivative_made` event: it is not in the ledger")
        elif made[1] != blob_id:
            report(where, f"holds blob {blob_id}, but event {made[0]} made it as blob "
                   f"{made[1]} (the derivative was re-bound)")
    for item, kinds in sorted(replay.derivatives.items()):
        for kind, (seq, _blob) in sorted(kinds.items()):
            if (item, kind) not in seen:
                report(f"event {seq}", f"the {kind} of evidence:{item} it made no longer "
                       "exists in the database (the row was deleted)")
    return checked


# --- baseline ----------------------------------------------------------------------------


def baseline(session: Session) -> int:
    """One `baseline` event per existing submission and item whose state the ledger does
    not commit yet; returns how many were written (0 on every later run). Commits."""
    begin_write(session)
    replay = StateReplay()
    query = select(custody.CustodyEvent.seq, custody.CustodyEvent.action,
                   custody.CustodyEvent.subject, custody.CustodyEvent.commitment,
                   custody.CustodyEvent.details_json).where(
        custody.CustodyEvent.action.in_(STATE_ACTIONS)).order_by(custody.CustodyEvent.seq)
    for row in session.execute(query):
        replay.feed(*row)
    done_subjects = {s for (s,) in session.execute(
        select(custody.CustodyEvent.subject).where(custody.CustodyEvent.action == "baseline"))}
    events: list[custody.NewEvent] = []
    for submission in session.scalars(select(Submission).order_by(Submission.id)):
        subject = f"submission:{submission.public_id}"
        if subject in done_subjects or (submission.public_id in replay.statements
                                        and submission.statement_salt):
            continue
        events.append(custody.NewEvent(
            actor=None, action="baseline", subject=subject,
            commitment=commit_statement(submission),
            details={"status": submission.status.value,
                     "items": [i.public_id for i in submission.items]}))
        for item in submission.items:
            item_subject = f"evidence:{item.public_id}"
            if item_subject in done_subjects:
                continue
            events.append(custody.NewEvent(
                actor=None, action="baseline", subject=item_subject,
                details={"submission": submission.public_id, "blob": item.blob_id,
                         "kind": item.kind.value, "size": item.size}))
    for incident in session.scalars(select(Incident).order_by(Incident.id)):
        details: dict[str, Any] = {}
        if incident.public_id not in replay.members:  # from before membership was followed
            details["members"] = members_of(incident)
        if incident.published and incident.public_id not in replay.published:
            details["published"] = True  # published before its publication was followed
        if details:
            events.append(custody.NewEvent(actor=None, action="baseline",
                                           subject=incident.subject, details=details))
    session.flush()
    custody.append_many(session, events)
    session.commit()
    if events:
        log.warning("custody baseline: %d baseline event(s) commit the current state of "
                    "existing submissions, items and incidents", len(events))
    return len(events)
