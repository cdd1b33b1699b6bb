"""Reviewers' view of submissions and their actions (status, assign, notes, requests, grades)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, StrictInt

from incidents.api.v1.schemas.base import Body, Identifier, LongText, Out, Text
from incidents.api.v1.schemas.submissions import Consent, Counts
from incidents.core.clock import iso
from incidents.core.errors import N_
from incidents.services import review

QUEUE_PARAMETERS = tuple(
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
    for name in ("status", "from", "to", "place", "category", "has_media", "near_duplicate",
                 "mine"))


class ReviewItemOut(Out):
    id: str
    kind: str
    size: int
    received_at: str | None


class ReviewSubmissionOut(Out):
    """A submission as reviewers see it (no testimony: that is read on the page)."""

    id: str
    status: str
    queue: str
    created_at: str | None
    occurred_at: str | None
    time_precision: str
    place: str | None
    region: str | None
    categories: list[str]
    tags: list[str]
    counts: Counts
    consent: Consent
    items: list[ReviewItemOut]

    @staticmethod
    def fields(submission: Any) -> dict[str, Any]:
        return {
            "id": submission.public_id, "status": submission.status.value,
            "queue": review.queue_name(submission.status),
            "created_at": iso(submission.created_at),
            "occurred_at": iso(submission.occurred_at),
            "time_precision": submission.time_precision.value, "place": submission.place_id,
            "region": submission.region, "categories": list(submission.categories),
            "tags": list(submission.tags), "counts": submission.counts,
            "consent": submission.consent,
            "items": [{"id": i.public_id, "kind": i.kind.value, "size": i.size,
                       "received_at": iso(i.received_at)} for i in submission.items],
        }

    @classmethod
    def of(cls, submission: Any) -> ReviewSubmissionOut:
        return cls.model_validate(cls.fields(submission))


class QueueEntryOut(ReviewSubmissionOut):
    assignee: str | None
    has_media: bool
    near_duplicate: bool


class QueueOut(Out):
    submissions: list[QueueEntryOut]

    @classmethod
    def of(cls, rows: list[Any]) -> QueueOut:
        return cls(submissions=[QueueEntryOut.model_validate({
            **ReviewSubmissionOut.fields(r.submission), "assignee": r.assignee,
            "has_media": r.has_media, "near_duplicate": r.near_duplicate}) for r in rows])


class AssessmentOut(Out):
    item: str
    grade: str
    reliability: str = Field(description="source reliability, A to F")
    credibility: int = Field(description="information credibility, 1 to 6")
    reason: str | None = Field(description="stored sealed; null while the vault is sealed")
    reviewer: str
    created_at: str | None

    @classmethod
    def of(cls, row: Any, reason: str | None) -> AssessmentOut:
        return cls(item=row.item.public_id, grade=row.grade,
                   reliability=row.reliability.value, credibility=row.credibility,
                   reason=reason, reviewer=row.reviewer.pseudonym,
                   created_at=iso(row.created_at))


class ReviewSubmissionDetailOut(ReviewSubmissionOut):
    assessments: list[AssessmentOut]

    @classmethod
    def with_assessments(cls, submission: Any, assessments: list[Any],
                         reasons: Any) -> ReviewSubmissionDetailOut:
        """`reasons`: `review.reasons` of `assessments` (sealed texts by blob id)."""
        return cls.model_validate({**cls.fields(submission), "assessments": [
            AssessmentOut.of(a, reasons.get(a.reason_blob_id)) for a in assessments]})


class SubmissionStatusIn(Body):
    status: Text = Field("", description="new, in_review, needs_info, accepted, rejected")


class AssignIn(Body):
    reviewer: Text | None = Field(None, description="a pseudonym; none: yourself")


class NoteIn(Body):
    body: LongText | None = None
    item: Identifier | None = Field(None, description="the evidence item it is about")


class NoteOut(Out):
    id: int
    created_at: str | None


class RequestIn(Body):
    question: LongText | None = None


class RequestOut(Out):
    id: str
    created_at: str | None


class AssessIn(Body):
    """Source reliability A-F and information credibility 1-6 (a number or its digit)."""

    messages: ClassVar[Mapping[str, str]] = {
        "reliability": N_("Source reliability is a letter from A to F."),
        "credibility": N_("Information credibility is a number from 1 to 6."),
    }

    reliability: Text | None = None
    credibility: StrictInt | Text | None = None
    reason: LongText | None = None
