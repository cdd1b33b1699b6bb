"""Witness submissions: create with testimony and files, add files later, list, get, receipt.

A submission is one unit of work (`blobs.unit_of_work`): every blob (streamed files,
finished tus uploads, the testimony, the sealed metadata) is recorded with its "stored"
event, each evidence item gets a "received" event, and the rows and events commit in one
transaction. If anything fails, the transaction rolls back and the blobs written for it are
deleted: no row, no event, no blob.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.clock import iso, utcnow
from incidents.core.database import begin_write, unit_of_work
from incidents.core.errors import N_, InvalidInput, NotFound
from incidents.models import BlobRecord, EvidenceItem, EvidenceKind, Submission, User
from incidents.services import custody, state_commitments, uploads
from incidents.services.access import STAFF, require_access
from incidents.services.evidence import blobs, sealed
from incidents.services.submission_input import (
    SubmissionInput,
    clean_declared_name,
    clean_declared_type,
)
from storage.blobstore import BlobStore, StoredBlob

log = logging.getLogger(__name__)

TESTIMONY_NAME = "testimony.txt"
TESTIMONY_TYPE = "text/plain; charset=utf-8"
METADATA_MAX_BYTES = 64 * 1024

# Called with the evidence item ids after a commit, to queue media processing. Set by the
# app (see `incidents.services.jobs` when it exists); None: nothing is queued.
AfterCommit = Callable[[list[str]], None]


def new_public_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class NewFile:
    """One file to attach: already in the store (streamed form part) or a finished upload."""

    stored: StoredBlob | None
    upload_id: str | None
    declared_name: str
    declared_type: str


def create(
    session: Session,
    store: BlobStore,
    user: User,
    data: SubmissionInput,
    files: Sequence[NewFile] = (),
    *,
    max_blob_bytes: int,
    after_commit: AfterCommit | None = None,
) -> Submission:
    """Store a new submission for `user`; returns it committed."""
    if not data.testimony.strip() and not files and not data.uploads:
        raise InvalidInput(N_("Write what happened, or add at least one file."),
                           field="testimony")
    all_files = [*files, *(NewFile(None, u, "", "") for u in data.uploads)]
    with unit_of_work(session):
        _adopt(session, store, all_files)
        submission = Submission(
            public_id=new_public_id(), owner_id=user.id, occurred_at=data.occurred_at,
            time_precision=data.time_precision, date_only=data.date_only,
            place_id=data.place.id if data.place else None,
            region=data.place.region if data.place else None,
            place_withheld=data.place is None, categories=data.categories, tags=data.tags,
            injured=data.counts["injured"], detained=data.counts["detained"],
            killed=data.counts["killed"], consent_legal=data.consent["legal"],
            consent_research=data.consent["research"],
            consent_publication=data.consent["publication"],
            consent_contact=data.consent["contact"], has_point=data.point is not None,
        )
        session.add(submission)
        session.flush()
        subject = f"submission:{submission.public_id}"
        hidden = json.dumps(data.sealed_metadata, ensure_ascii=False).encode("utf-8")
        metadata = blobs.ingest(session, store, [hidden], actor=user.public_id,
                                subject=subject, max_size=METADATA_MAX_BYTES)
        submission.sealed_metadata_blob_id = metadata.record.id
        items: list[EvidenceItem] = []
        if data.testimony.strip():
            testimony = blobs.ingest(session, store, [data.testimony.encode("utf-8")],
                                     actor=user.public_id, subject=subject,
                                     max_size=max_blob_bytes)
            items.append(_item(session, user, submission, EvidenceKind.TESTIMONY,
                               testimony.record, None, TESTIMONY_TYPE))
        items += _attach(session, store, user, submission, all_files)
        # The statement and consent, committed (salted) with the report itself: `custody
        # verify` recomputes the commitment from the row (custody_state).
        custody.append(session, actor=user.public_id, action="submitted", subject=subject,
                       commitment=state_commitments.commit_statement(submission),
                       details={"items": [i.public_id for i in items]})
    _queue(after_commit, items)
    return submission


def add_files(
    session: Session,
    store: BlobStore,
    user: User,
    public_id: str,
    files: Sequence[NewFile],
    *,
    after_commit: AfterCommit | None = None,
) -> list[EvidenceItem]:
    """Attach more files to one's own submission (only the owner, staff included)."""
    if not files:
        raise InvalidInput(N_("Choose at least one file."), field="files")
    with unit_of_work(session):
        found = _load(session, public_id)
        require_access(found, user, "edit")
        assert found is not None
        submission = found
        begin_write(session)
        _adopt(session, store, files)
        items = _attach(session, store, user, submission, files)
        custody.append(session, actor=user.public_id, action="files_added",
                       subject=f"submission:{submission.public_id}",
                       details={"items": [i.public_id for i in items]})
    _queue(after_commit, items)
    return items


def _adopt(session: Session, store: BlobStore, files: Sequence[NewFile]) -> None:
    """Tie blobs already streamed into the store to this transaction: deleted unless it
    commits. Call after `begin_write`."""
    for new in files:
        if new.stored is not None:
            blobs.adopt(session, store, new.stored.blob_id)


def _attach(session: Session, store: BlobStore, user: User, submission: Submission,
            files: Sequence[NewFile]) -> list[EvidenceItem]:
    subject = f"submission:{submission.public_id}"
    items = []
    for new in files:
        if new.stored is not None:
            record = blobs.record_stored(session, store, new.stored, actor=user.public_id,
                                         subject=subject).record
            items.append(_item(session, user, submission, EvidenceKind.FILE, record,
                               new.declared_name, new.declared_type, store=store))
        else:
            assert new.upload_id is not None
            claimed = uploads.claim_finished_upload(session, store, user, new.upload_id,
                                                    subject=subject)
            items.append(_item(session, user, submission, EvidenceKind.FILE, claimed.record,
                               None, claimed.declared_type, name_blob_id=claimed.name_blob_id))
    return items


def _item(session: Session, user: User, submission: Submission, kind: EvidenceKind,
          record: BlobRecord, name: str | None, declared_type: str, *,
          store: BlobStore | None = None, name_blob_id: str | None = None) -> EvidenceItem:
    """An evidence item for a recorded blob. A declared file `name` is sealed (with `store`)
    as part of the submission; a tus upload's name comes already sealed (`name_blob_id`)."""
    stored = [e for e in custody.events_for(session, record.subject) if e.action == "stored"]
    if name and store is not None:
        name_blob_id = sealed.seal_text(session, store, clean_declared_name(name),
                                        actor=user.public_id,
                                        part_of=f"submission:{submission.public_id}")
    item = EvidenceItem(public_id=new_public_id(), submission_id=submission.id, kind=kind,
                        blob_id=record.id, name_blob_id=name_blob_id,
                        declared_type=clean_declared_type(declared_type), size=record.size,
                        received_at=utcnow())
    session.add(item)
    session.flush()
    custody.append(session, actor=user.public_id, action="received",
                   subject=f"evidence:{item.public_id}",
                   commitment=stored[0].commitment if stored else None,
                   details={"submission": submission.public_id, "blob": record.id,
                            "kind": kind.value, "size": record.size})
    return item


def _queue(after_commit: AfterCommit | None, items: Sequence[EvidenceItem]) -> None:
    files = [i.public_id for i in items if i.kind is EvidenceKind.FILE]
    if after_commit is None or not files:
        return
    try:
        after_commit(files)
    except Exception as e:  # stored and committed: processing can be re-queued later
        log.error("queueing media processing failed: %s", type(e).__name__)


# --- reading -----------------------------------------------------------------------------


def _load(session: Session, public_id: str) -> Submission | None:
    if not isinstance(public_id, str) or len(public_id) != 32:
        return None
    return session.scalar(select(Submission).where(Submission.public_id == public_id))


def get(session: Session, user: User, public_id: str) -> Submission:
    """One submission: its owner's, or anyone's for staff; otherwise NotFound."""
    submission = _load(session, public_id)
    require_access(submission, user, "view")
    assert submission is not None
    return submission


def list_for(session: Session, user: User, *, limit: int = 200) -> list[Submission]:
    """A contributor's own submissions; staff see everyone's. Newest first."""
    query = select(Submission).order_by(Submission.created_at.desc(), Submission.id.desc())
    if user.role not in STAFF:
        query = query.where(Submission.owner_id == user.id)
    return list(session.scalars(query.limit(limit)))


def list_own(session: Session, user: User, *, limit: int = 200) -> list[Submission]:
    query = (select(Submission).where(Submission.owner_id == user.id)
             .order_by(Submission.created_at.desc(), Submission.id.desc()))
    return list(session.scalars(query.limit(limit)))


def item_name(item: EvidenceItem, names: sealed.Texts) -> str | None:
    """What an item is called: testimony by the server's name, a file by its declared
    (sealed) name; None while the vault is sealed."""
    if item.kind is EvidenceKind.TESTIMONY:
        return TESTIMONY_NAME
    return names.get(item.name_blob_id)


def read_names(session: Session, store: BlobStore, user: User,
               rows: Sequence[Submission]) -> sealed.Texts:
    """The declared file names of these submissions' items, in one batch of "viewed"
    events naming `user`; `Texts(sealed=True)` while the vault is sealed."""
    return sealed.read_texts(session, store, [i.name_blob_id for s in rows for i in s.items],
                             actor=user.public_id)


def summary(submission: Submission, names: sealed.Texts) -> dict[str, Any]:
    """What the API shows of a submission: never reviewers' notes, never the exact point.
    `names` from `read_names`."""
    return {
        "id": submission.public_id,
        "status": submission.status.value,
        "created_at": iso(submission.created_at),
        "occurred_at": iso(submission.occurred_at),
        "time_precision": submission.time_precision.value,
        "date_only": submission.date_only,
        "place": submission.place_id or "prefer_not_to_say",
        "region": submission.region,
        "has_point": submission.has_point,
        "categories": list(submission.categories),
        "tags": list(submission.tags),
        "counts": submission.counts,
        "consent": submission.consent,
        "items": [
            {"id": item.public_id, "kind": item.kind.value, "name": item_name(item, names),
             "declared_type": item.declared_type, "size": item.size,
             "received_at": iso(item.received_at)}
            for item in submission.items
        ],
    }


def item_for(session: Session, user: User, public_id: str) -> EvidenceItem:
    item = session.scalar(select(EvidenceItem).where(EvidenceItem.public_id == public_id))
    if item is None:
        raise NotFound()
    require_access(item.submission, user, "view")
    return item
