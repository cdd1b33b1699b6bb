"""A witness's report (Submission) and the evidence items it carries (testimony and files).

What is sensitive is not in a clear column: the testimony and every file are evidence blobs,
and the exact point and the description of forces live in an encrypted metadata blob.
Only what filtering needs stays in the clear: place id and region, date, categories, counts.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.core.clock import utcnow
from incidents.models.base import Base
from incidents.models.types import UTCDateTime

DECLARED_NAME_MAX = 255
DECLARED_TYPE_MAX = 255


class SubmissionStatus(enum.StrEnum):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    NEEDS_INFO = "needs_info"
    USED_IN_INCIDENT = "used_in_incident"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class TimePrecision(enum.StrEnum):
    EXACT = "exact"
    APPROXIMATE = "approximate"
    UNKNOWN = "unknown"


class EvidenceKind(enum.StrEnum):
    TESTIMONY = "testimony"
    FILE = "file"


def _values(kind: type[enum.StrEnum]) -> list[str]:
    return [member.value for member in kind]


STATUS_ENUM = Enum(SubmissionStatus, name="submission_status", values_callable=_values)
PRECISION_ENUM = Enum(TimePrecision, name="time_precision", values_callable=_values)
KIND_ENUM = Enum(EvidenceKind, name="evidence_kind", values_callable=_values)


class Submission(Base):
    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the witness, the API and the receipt call it: random, never the database id.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[SubmissionStatus] = mapped_column(STATUS_ENUM,
                                                     default=SubmissionStatus.RECEIVED)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_precision: Mapped[TimePrecision] = mapped_column(PRECISION_ENUM)
    # Only a date was given: occurred_at is midnight in the display zone, in UTC.
    date_only: Mapped[bool] = mapped_column(Boolean, default=True)
    # Gazetteer id and its region; both None when the witness prefers not to say.
    place_id: Mapped[str | None] = mapped_column(String(64), index=True)
    region: Mapped[str | None] = mapped_column(String(64), index=True)
    place_withheld: Mapped[bool] = mapped_column(Boolean, default=False)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    injured: Mapped[int | None] = mapped_column(Integer)
    detained: Mapped[int | None] = mapped_column(Integer)
    killed: Mapped[int | None] = mapped_column(Integer)
    consent_legal: Mapped[bool] = mapped_column(Boolean)
    consent_research: Mapped[bool] = mapped_column(Boolean)
    consent_publication: Mapped[bool] = mapped_column(Boolean)
    consent_contact: Mapped[bool] = mapped_column(Boolean)
    # The salt of the statement commitment in the ledger (docs/formats.md "Statement
    # commitment"): the values above are in the clear here anyway; the ledger, which leaves
    # the server in bundles and receipts, holds only SHA-256(tag || salt || statement).
    statement_salt: Mapped[str | None] = mapped_column(String(64))
    # Encrypted JSON {"point": [lat, lon] | null, "forces": str}: an evidence blob.
    sealed_metadata_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    has_point: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list[EvidenceItem]] = relationship(
        back_populates="submission", order_by="EvidenceItem.id"
    )

    @property
    def consent(self) -> dict[str, bool]:
        return {"legal": self.consent_legal, "research": self.consent_research,
                "publication": self.consent_publication, "contact": self.consent_contact}

    @property
    def counts(self) -> dict[str, int | None]:
        return {"injured": self.injured, "detained": self.detained, "killed": self.killed}


class EvidenceItem(Base):
    __tablename__ = "evidence_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    kind: Mapped[EvidenceKind] = mapped_column(KIND_ENUM)
    blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"), unique=True)
    # The client's claims, never a path, never a type. The declared file name can name the
    # witness ("IMG_from_Aigerim.jpg"), so it is sealed JSON {"text": base name} (None when
    # none was given), read through the custody ledger (services.evidence.sealed).
    name_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    declared_type: Mapped[str] = mapped_column(String(DECLARED_TYPE_MAX), default="")
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="items")

    @property
    def owner_id(self) -> int:
        return self.submission.owner_id
