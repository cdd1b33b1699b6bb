"""Incidents: what reviewers build from submissions, and what researchers see once published.

An incident is reviewer-written: its description is never a witness's words, and only the
`summary` excerpt (chosen by a reviewer) can reach researchers, and then only if every
linked witness consented to publication. Location precision uses the values of
`incidents.services.research.public.LocationPrecision` and never exceeds what the linked witnesses'
reports allow (`incidents.services.incidents.allowed_precision`). Categories and tags are
rows of `incident_terms`, so researchers' "any of" filters are plain indexed SQL.

Publishing is a column (`published`, `published_at`) plus the custody event "published"
that records the decision; a merged incident keeps its row and public id, with
`merged_into_id` pointing to the survivor, and is never listed.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.core.clock import utcnow
from incidents.core.vocabulary import LocationPrecision, Verification
from incidents.models.base import Base
from incidents.models.submissions import PRECISION_ENUM, EvidenceItem, Submission, TimePrecision
from incidents.models.types import UTCDateTime

TITLE_MAX = 200


def _values(kind: type[enum.StrEnum]) -> list[str]:
    return [member.value for member in kind]


LOCATION_PRECISION_ENUM = Enum(LocationPrecision, name="location_precision",
                               values_callable=_values)
VERIFICATION_ENUM = Enum(Verification, name="verification_level", values_callable=_values)


class TermKind(enum.StrEnum):
    CATEGORY = "category"
    TAG = "tag"


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable and random ("INC-" + 10 base32 characters); what researchers and exports cite.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    # Reviewers only (researchers see `summary`): sealed text (services.evidence.sealed).
    description_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    summary: Mapped[str | None] = mapped_column(Text)  # the public excerpt, consent permitting
    start_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end_utc: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_precision: Mapped[TimePrecision] = mapped_column(PRECISION_ENUM,
                                                          default=TimePrecision.UNKNOWN)
    place_id: Mapped[str | None] = mapped_column(String(64), index=True)
    region_id: Mapped[str | None] = mapped_column(String(64), index=True)
    location_precision: Mapped[LocationPrecision] = mapped_column(
        LOCATION_PRECISION_ENUM, default=LocationPrecision.NONE)
    injured: Mapped[int | None] = mapped_column(Integer)
    detained: Mapped[int | None] = mapped_column(Integer)
    killed: Mapped[int | None] = mapped_column(Integer)
    verification: Mapped[Verification] = mapped_column(VERIFICATION_ENUM,
                                                       default=Verification.REPORTED)
    # Derived from the linked evidence (sniffed kinds), kept for filtering.
    has_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    has_video: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    terms: Mapped[list[IncidentTerm]] = relationship(
        cascade="all, delete-orphan", order_by="IncidentTerm.term")
    submissions: Mapped[list[Submission]] = relationship(
        secondary="incident_submissions", order_by="Submission.id")
    items: Mapped[list[EvidenceItem]] = relationship(
        secondary="incident_items", order_by="EvidenceItem.id")

    @property
    def categories(self) -> list[str]:
        return [t.term for t in self.terms if t.kind is TermKind.CATEGORY]

    @property
    def tags(self) -> list[str]:
        return [t.term for t in self.terms if t.kind is TermKind.TAG]

    @property
    def counts(self) -> dict[str, int | None]:
        return {"injured": self.injured, "detained": self.detained, "killed": self.killed}

    @property
    def subject(self) -> str:
        return f"incident:{self.public_id}"


class IncidentTerm(Base):
    """One category or tag id of an incident (ids from the taxonomy)."""

    __tablename__ = "incident_terms"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    kind: Mapped[TermKind] = mapped_column(
        Enum(TermKind, name="incident_term_kind", values_callable=_values), primary_key=True)
    term: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class IncidentSubmission(Base):
    __tablename__ = "incident_submissions"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True,
                                               index=True)


class IncidentItem(Base):
    __tablename__ = "incident_items"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), primary_key=True,
                                         index=True)
