"""Requests for more information: the witness's answers, and reading sealed text and JSON blobs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.database import unit_of_work
from incidents.core.errors import N_, InvalidInput, NotFound
from incidents.models import (
    BlobRecord,
    EvidenceItem,
    EvidenceKind,
    InfoRequest,
    Submission,
    SubmissionStatus,
    User,
)
from incidents.services import custody
from incidents.services.access import STAFF
from incidents.services.evidence import blobs, sealed
from incidents.services.review.actions import _change_status, _text
from incidents.services.submissions import new_public_id
from storage.blob_reader import BlobReader
from storage.blobstore import BlobStore

METADATA_MAX_BYTES = 4 * 1024 * 1024


TESTIMONY_MAX_BYTES = 4 * 1024 * 1024


def requests_for_witness(session: Session, user: User, submission: Submission
                         ) -> list[InfoRequest]:
    """The requests a submission's owner (or staff) sees: questions and answers only."""
    if submission.owner_id != user.id and user.role not in STAFF:
        raise NotFound()
    return list(session.scalars(select(InfoRequest)
                                .where(InfoRequest.submission_id == submission.id)
                                .order_by(InfoRequest.created_at, InfoRequest.id)))


@dataclass(frozen=True)
class WitnessRequest:
    """A request as its witness sees it; None texts while the vault is sealed."""

    id: str
    created_at: datetime
    question: str | None
    answered_at: datetime | None
    answer: str | None


@dataclass(frozen=True)
class WitnessView:
    """The sealed parts of a witness's own submission page: declared file names (by item
    public id) and requests with their answers. `sealed`: the vault is sealed, so the page
    says so where the text would be (a witness can still add files and answer)."""

    names: dict[str, str | None]
    requests: list[WitnessRequest]
    sealed: bool


def witness_view(session: Session, store: BlobStore, user: User, submission: Submission
                 ) -> WitnessView:
    """Read the witness's file names and the questions to them in one batch of "viewed"
    events (naming them), then their answers; a sealed vault gives None texts, not 503."""
    requests = requests_for_witness(session, user, submission)
    files = [i for i in submission.items if i.kind is EvidenceKind.FILE]
    texts = sealed.read_texts(session, store, [i.name_blob_id for i in files]
                              + [r.question_blob_id for r in requests], actor=user.public_id)
    shown = []
    for r in requests:
        answer = None
        if not texts.sealed:
            answer = read_own_answer(session, store, user, r)
        shown.append(WitnessRequest(r.public_id, r.created_at, texts.get(r.question_blob_id),
                                    r.answered_at, answer))
    return WitnessView({i.public_id: texts.get(i.name_blob_id) for i in files}, shown,
                       texts.sealed)


def answer_info(session: Session, store: BlobStore, user: User, request_public_id: str,
                text: Any, *, max_bytes: int = TESTIMONY_MAX_BYTES) -> InfoRequest:
    """The witness answers a request: the text becomes a testimony item of the submission
    (an encrypted blob with "stored" and "received" events); status goes back to review."""
    request = session.scalar(select(InfoRequest).where(
        InfoRequest.public_id == request_public_id)) if isinstance(
        request_public_id, str) else None
    if request is None or request.submission.owner_id != user.id:
        raise NotFound()
    answer = _text(text, "answer", max_length=max_bytes)
    submission = request.submission
    subject = f"submission:{submission.public_id}"
    with unit_of_work(session):
        ingested = blobs.ingest(session, store, [answer.encode("utf-8")], actor=user.public_id,
                                subject=subject, max_size=max_bytes)
        item = EvidenceItem(public_id=new_public_id(), submission_id=submission.id,
                            kind=EvidenceKind.TESTIMONY, blob_id=ingested.record.id,
                            declared_type="text/plain",
                            size=ingested.size, received_at=utcnow())
        session.add(item)
        session.flush()
        custody.append(session, actor=user.public_id, action="received",
                       subject=f"evidence:{item.public_id}", commitment=ingested.commitment,
                       details={"submission": submission.public_id,
                                "blob": ingested.record.id, "kind": "testimony",
                                "size": ingested.size, "answers": request.public_id})
        request.answered_at = utcnow()
        request.answer_item_id = item.id
        if submission.status is SubmissionStatus.NEEDS_INFO:
            _change_status(session, user, submission, SubmissionStatus.IN_REVIEW)
    return request


def read_own_answer(session: Session, store: BlobStore, user: User, request: InfoRequest
                    ) -> str | None:
    """The text of a witness's answer, for their own page (a "viewed" event by them)."""
    if request.answer_item is None:
        return None
    if request.submission.owner_id != user.id and user.role not in STAFF:
        raise NotFound()
    return _read_text(session, store, user, request.answer_item.blob_id)


def _read_all(reader: BlobReader, limit: int) -> bytes:
    with reader:
        data = reader.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(N_("This evidence is too large to show here."))
    return data


def _read_text(session: Session, store: BlobStore, user: User, blob_id: str,
               limit: int = TESTIMONY_MAX_BYTES) -> str:
    record = session.get(BlobRecord, blob_id)
    reader = blobs.open_for_reading(session, store, record, actor=user.public_id)
    return _read_all(reader, limit).decode("utf-8", errors="replace")


def read_json_blob(session: Session, store: BlobStore, user: User, blob_id: str | None
                   ) -> dict[str, Any]:
    if blob_id is None:
        return {}
    record = session.get(BlobRecord, blob_id)
    reader = blobs.open_for_reading(session, store, record, actor=user.public_id)
    value = json.loads(_read_all(reader, METADATA_MAX_BYTES).decode("utf-8"))
    return value if isinstance(value, dict) else {}
