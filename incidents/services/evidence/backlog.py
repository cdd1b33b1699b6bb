"""Sealing the text an instance stored in the clear before migration 0013 (one time).

Migration 0013 moved every old clear value (declared file names, reviewer notes, assessment
reasons, questions to witnesses, case and incident descriptions) into `sealing_backlog` and
dropped the clear columns: a migration cannot reach the blob store and the ledger's append
path. `seal_backlog` (`flask --app wsgi vault seal-backlog`, run by `init`) seals each value
as a blob with its "stored" event, exactly as the pages do now, one unit of work per value,
then compacts the SQLite file so that the freed pages that held the clear text are gone.
Sealing needs only the vault public key: it works while the vault is sealed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from incidents.core.database import unit_of_work
from incidents.models import (
    Assessment,
    Case,
    EvidenceItem,
    InfoRequest,
    ReviewerNote,
    SealingBacklog,
    Submission,
    Upload,
)
from incidents.models.incidents import Incident
from incidents.services.evidence import blobs, sealed
from incidents.services.uploads import seal_pending_name
from storage.blobstore import BlobStore

log = logging.getLogger(__name__)


def _submission_of(session: Session, submission_id: int) -> str:
    submission = session.get(Submission, submission_id)
    return f"submission:{submission.public_id}" if submission else "submission:?"


def _item_of(session: Session, item_id: int | None) -> str | None:
    item = session.get(EvidenceItem, item_id) if item_id is not None else None
    return f"evidence:{item.public_id}" if item else None


def _item_name(session: Session, row: EvidenceItem) -> str:
    return _submission_of(session, row.submission_id)


def _assessment(session: Session, row: Assessment) -> str:
    return _item_of(session, row.item_id) or "evidence:?"


def _note(session: Session, row: ReviewerNote) -> str:
    return _item_of(session, row.item_id) or _submission_of(session, row.submission_id)


def _request(session: Session, row: InfoRequest) -> str:
    return _submission_of(session, row.submission_id)


def _own_subject(session: Session, row: Case | Incident) -> str:
    return row.subject


@dataclass(frozen=True)
class Target:
    model: Any  # a mapped class with an integer `id`
    part_of: Callable[[Session, Any], str]


# (table, new column) -> where a backlog value goes, and what it is part of.
TARGETS: dict[tuple[str, str], Target] = {
    ("evidence_items", "name_blob_id"): Target(EvidenceItem, _item_name),
    ("assessments", "reason_blob_id"): Target(Assessment, _assessment),
    ("reviewer_notes", "body_blob_id"): Target(ReviewerNote, _note),
    ("info_requests", "question_blob_id"): Target(InfoRequest, _request),
    ("cases", "description_blob_id"): Target(Case, _own_subject),
    ("incidents", "description_blob_id"): Target(Incident, _own_subject),
}


def pending(session: Session) -> int:
    """How many values still wait to be sealed."""
    count = session.scalar(select(func.count()).select_from(SealingBacklog)) or 0
    session.rollback()
    return count


def seal_backlog(session: Session, store: BlobStore) -> int:
    """Seal every value of the backlog (one unit of work each); how many were sealed."""
    ids = list(session.scalars(select(SealingBacklog.id).order_by(SealingBacklog.id)))
    session.rollback()
    done = 0
    for backlog_id in ids:
        with unit_of_work(session):
            entry = session.get(SealingBacklog, backlog_id)
            if entry is None:  # sealed meanwhile by another run
                continue
            _seal_one(session, store, entry)
            session.delete(entry)
        done += 1
    if done:
        log.info("sealed %d value(s) stored in the clear before migration 0013", done)
        compact(session)
    return done


def _seal_one(session: Session, store: BlobStore, entry: SealingBacklog) -> None:
    if (entry.table_name, entry.column) == ("uploads", "pending_name"):
        upload = session.get(Upload, entry.row_id)
        name = seal_pending_name(store, entry.value) if upload is not None else None
        if upload is not None and name is not None:
            blobs.adopt(session, store, name.blob_id)  # deleted unless this commits
            upload.pending_name = name.as_json()
        return
    target = TARGETS.get((entry.table_name, entry.column))
    if target is None:
        raise ValueError(f"sealing backlog: unknown column {entry.table_name}.{entry.column}")
    row = session.get(target.model, entry.row_id)
    if row is None:  # the row is gone: nothing to seal, and nothing left in the clear
        return
    blob_id = sealed.seal_text(session, store, entry.value, actor=None,
                               part_of=target.part_of(session, row))
    table = target.model.__table__
    session.execute(update(table).where(table.c.id == entry.row_id)
                    .values({entry.column: blob_id}))


def compact(session: Session) -> None:
    """SQLite: rewrite the file (VACUUM) and empty the WAL, so that pages freed by the
    backlog's deletes, which still hold the old clear text, are not left in the file.
    PostgreSQL reuses dead tuples' space only after VACUUM; docs/security.md says to run
    `VACUUM FULL` once after the upgrade."""
    session.rollback()
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # On the driver's connection: SQLAlchemy would BEGIN first (make_engine), and SQLite
    # cannot VACUUM inside a transaction; pysqlite's own transactions are off there.
    raw = bind.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("VACUUM")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        raw.close()
