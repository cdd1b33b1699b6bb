"""Reviewers' changes to a submission: status, assignment, assessments, notes, requests.

Each is one unit of work with its custody event; details never carry the reviewer's free text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core import fields
from incidents.core.clock import utcnow
from incidents.core.database import unit_of_work
from incidents.core.errors import N_, InvalidInput, NotFound
from incidents.models import (
    Assessment,
    EvidenceItem,
    InfoRequest,
    ReviewAssignment,
    ReviewerNote,
    Role,
    SourceReliability,
    Submission,
    SubmissionStatus,
    User,
)
from incidents.models.review import CREDIBILITY_VALUES
from incidents.services import accounts, custody
from incidents.services.evidence import sealed
from incidents.services.review.queue import queue_name, require_reviewer
from incidents.services.submissions import new_public_id
from storage.blobstore import BlobStore

Loaded = TypeVar("Loaded", Submission, EvidenceItem)


# What a reviewer may set directly (needs_info is set by a request for information).
SETTABLE = {"new": SubmissionStatus.RECEIVED, "in_review": SubmissionStatus.IN_REVIEW,
            "accepted": SubmissionStatus.ACCEPTED, "rejected": SubmissionStatus.REJECTED,
            "needs_info": SubmissionStatus.NEEDS_INFO}


# The choices of the assessment form, in order.
RELIABILITY_GRADES = tuple(SourceReliability)
CREDIBILITY_GRADES = CREDIBILITY_VALUES
TEXT_MAX = 10_000


def load_submission(session: Session, user: User, public_id: str) -> Submission:
    return _load(session, user, Submission, public_id)


def assessments_of(session: Session, submission: Submission) -> list[Assessment]:
    """Every assessment of the submission's items, item by item."""
    return [a for i in submission.items
            for a in session.scalars(select(Assessment).where(Assessment.item_id == i.id))]


def reasons(session: Session, store: BlobStore, user: User, rows: Sequence[Assessment]
            ) -> sealed.Texts:
    """The (sealed) reasons of these assessments, in one batch of "viewed" events naming
    `user`; `Texts(sealed=True)` while the vault is sealed."""
    require_reviewer(user)
    return sealed.read_texts(session, store, [a.reason_blob_id for a in rows],
                             actor=user.public_id)


def load_item(session: Session, user: User, public_id: str) -> EvidenceItem:
    return _load(session, user, EvidenceItem, public_id)


def _load(session: Session, user: User, model: type[Loaded], public_id: str) -> Loaded:
    require_reviewer(user)
    if not isinstance(public_id, str) or len(public_id) > 32:
        raise NotFound()
    found = session.scalar(select(model).where(model.public_id == public_id))
    if found is None:
        raise NotFound()
    return found


def _text(value: Any, name: str, *, required: bool = True, max_length: int = TEXT_MAX) -> str:
    return fields.text(value, name, max_length=max_length, required=required)


def _change_status(session: Session, user: User, submission: Submission,
                   status: SubmissionStatus) -> None:
    old = submission.status
    if old is status:
        return
    submission.status = status
    custody.append(session, actor=user.public_id, action="status_changed",
                   subject=f"submission:{submission.public_id}",
                   details={"from": old.value, "to": status.value})


def set_status(session: Session, user: User, public_id: str, state: str) -> Submission:
    """Move a submission to a queue state; a custody event "status_changed"."""
    submission = load_submission(session, user, public_id)
    if state not in SETTABLE:
        raise InvalidInput(N_("The field %(name)s is not valid."), field="status", name="status")
    if queue_name(submission.status) == state:
        # Already there (e.g. "used in an incident" is shown as accepted): submitting the form
        # unchanged must not move the report back a step.
        return submission
    with unit_of_work(session):
        _change_status(session, user, submission, SETTABLE[state])
    return submission


def assign(session: Session, user: User, public_id: str, reviewer: str | None) -> Submission:
    """Assign a submission to a reviewer (by pseudonym; "" or None: to oneself)."""
    submission = load_submission(session, user, public_id)
    target = user
    if reviewer:
        target = accounts.find_staff(session, reviewer, field="reviewer")
    with unit_of_work(session):
        row = session.get(ReviewAssignment, submission.id)
        if row is None:
            session.add(ReviewAssignment(submission_id=submission.id, reviewer_id=target.id,
                                         assigned_by_id=user.id))
        else:
            row.reviewer_id, row.assigned_by_id, row.assigned_at = target.id, user.id, utcnow()
        if submission.status is SubmissionStatus.RECEIVED:
            _change_status(session, user, submission, SubmissionStatus.IN_REVIEW)
        custody.append(session, actor=user.public_id, action="assigned",
                       subject=f"submission:{submission.public_id}",
                       details={"reviewer": target.public_id})
    return submission


def assess(session: Session, store: BlobStore, user: User, item_public_id: str,
           reliability: Any, credibility: Any, reason: Any) -> Assessment:
    """Grade an item on the A-F / 1-6 scale, with a reason; a custody event "annotated"."""
    item = load_item(session, user, item_public_id)
    try:
        grade = SourceReliability(str(reliability).upper())
    except ValueError as e:
        raise InvalidInput(N_("Source reliability is a letter from A to F."),
                           field="reliability") from e
    try:
        level = int(credibility)
    except (TypeError, ValueError):
        level = 0
    if isinstance(credibility, bool) or level not in CREDIBILITY_VALUES:
        raise InvalidInput(N_("Information credibility is a number from 1 to 6."),
                           field="credibility")
    text = _text(reason, "reason")
    with unit_of_work(session):
        subject = f"evidence:{item.public_id}"
        row = Assessment(item_id=item.id, reviewer_id=user.id, reliability=grade,
                         credibility=level,
                         reason_blob_id=sealed.seal_text(session, store, text,
                                                         actor=user.public_id, part_of=subject))
        session.add(row)
        custody.append(session, actor=user.public_id, action="annotated",
                       subject=f"evidence:{item.public_id}",
                       details={"kind": "assessment", "grade": f"{grade.value}{level}"})
    return row


def add_note(session: Session, store: BlobStore, user: User, public_id: str, body: Any,
             item_public_id: str | None = None) -> ReviewerNote:
    submission = load_submission(session, user, public_id)
    item = None
    if item_public_id:
        item = load_item(session, user, item_public_id)
        if item.submission_id != submission.id:
            raise NotFound()
    text = _text(body, "body")
    with unit_of_work(session):
        subject = f"evidence:{item.public_id}" if item else f"submission:{submission.public_id}"
        body_blob_id = sealed.seal_text(session, store, text, actor=user.public_id,
                                        part_of=subject)
        assert body_blob_id is not None  # _text refuses an empty note
        note = ReviewerNote(submission_id=submission.id, item_id=item.id if item else None,
                            author_id=user.id, body_blob_id=body_blob_id)
        session.add(note)
        custody.append(session, actor=user.public_id, action="annotated", subject=subject,
                       details={"kind": "note"})
    return note


def request_info(session: Session, store: BlobStore, user: User, public_id: str,
                 question: Any) -> InfoRequest:
    """Ask the witness for more: shown on their submission page; status "needs_info"."""
    submission = load_submission(session, user, public_id)
    text = _text(question, "question", max_length=4000)
    with unit_of_work(session):
        subject = f"submission:{submission.public_id}"
        question_blob_id = sealed.seal_text(session, store, text, actor=user.public_id,
                                            part_of=subject)
        assert question_blob_id is not None  # _text refuses an empty question
        request = InfoRequest(public_id=new_public_id(), submission_id=submission.id,
                              requested_by_id=user.id, question_blob_id=question_blob_id)
        session.add(request)
        session.flush()
        custody.append(session, actor=user.public_id, action="info_requested",
                       subject=f"submission:{submission.public_id}",
                       details={"request": request.public_id})
        _change_status(session, user, submission, SubmissionStatus.NEEDS_INFO)
    return request


def reviewers(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role.in_(
        [Role.REVIEWER, Role.ADMIN])).order_by(User.pseudonym)))


def grades(assessments: Sequence[Assessment]) -> list[str]:
    return [a.grade for a in assessments]
