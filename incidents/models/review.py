"""Reviewers' work on submissions: assignment, assessments, notes, requests for information.

Nothing here is ever shown to a witness except an `InfoRequest`'s question (and their own
answer). What reviewers write (notes, assessment reasons, questions) is sealed text
(`*_blob_id`: services.evidence.sealed), read through the custody ledger like testimony.
Assessments use the investigators' "Admiralty" scale: source reliability A-F and information
credibility 1-6; each is a row of its own, so earlier judgements stay visible.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.core.clock import utcnow
from incidents.models.accounts import User
from incidents.models.base import Base
from incidents.models.submissions import EvidenceItem, Submission
from incidents.models.types import UTCDateTime


class SourceReliability(enum.StrEnum):
    A = "A"  # completely reliable
    B = "B"  # usually reliable
    C = "C"  # fairly reliable
    D = "D"  # not usually reliable
    E = "E"  # unreliable
    F = "F"  # reliability cannot be judged


# 1 confirmed, 2 probably true, 3 possibly true, 4 doubtful, 5 improbable, 6 cannot be judged
CREDIBILITY_VALUES = (1, 2, 3, 4, 5, 6)

RELIABILITY_ENUM = Enum(SourceReliability, name="source_reliability",
                        values_callable=lambda kind: [m.value for m in kind])


class ReviewAssignment(Base):
    """Which reviewer a submission is assigned to (one row per submission, at most)."""

    __tablename__ = "review_assignments"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint("credibility BETWEEN 1 AND 6", name="credibility_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reliability: Mapped[SourceReliability] = mapped_column(RELIABILITY_ENUM)
    credibility: Mapped[int] = mapped_column(Integer)
    reason_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))  # sealed text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[EvidenceItem] = relationship()
    reviewer: Mapped[User] = relationship()

    @property
    def grade(self) -> str:
        """The conventional two-character grade, e.g. "B2"."""
        return f"{self.reliability.value}{self.credibility}"


class ReviewerNote(Base):
    """A reviewer's note on a submission (or one of its items). Never shown to witnesses."""

    __tablename__ = "reviewer_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_items.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))  # sealed text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()


class InfoRequest(Base):
    """A reviewer's request for more information, which the witness sees and answers.

    The answer text is an evidence item of the submission (kind testimony, an encrypted
    blob like any testimony); files come through the submission's ordinary add-files flow.
    """

    __tablename__ = "info_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    question_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))  # sealed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_item_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_items.id"))

    submission: Mapped[Submission] = relationship()
    answer_item: Mapped[EvidenceItem | None] = relationship()

    @property
    def open(self) -> bool:
        return self.answered_at is None
