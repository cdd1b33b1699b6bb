"""Who is responsible: actors (persons, units, facilities), their posts over time, incidents'
involvement links with citations, translations of cited excerpts, command-chain reviews.

These are allegations about named people, so everything that names or describes someone is
an encrypted evidence blob (`*_blob_id`, JSON, read through the custody ledger); the clear
columns hold only structure a query needs: kinds, dates, which row points at which, the
kind of force (what researchers may see once a link is established) and a gazetteer place.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.core.clock import utcnow
from incidents.models.base import Base
from incidents.models.submissions import EvidenceItem
from incidents.models.types import UTCDateTime


def _values(kind: type[enum.StrEnum]) -> list[str]:
    return [member.value for member in kind]


class ActorKind(enum.StrEnum):
    PERSON = "person"
    UNIT = "unit"  # units and organisations
    FACILITY = "facility"


class ForceKind(enum.StrEnum):
    """The kind of force: the only thing about an actor researchers may ever see."""

    POLICE = "police"
    NATIONAL_GUARD = "national_guard"
    KNB = "knb"
    ARMY = "army"
    SPECIAL_FORCES = "special_forces"
    CSTO = "csto"
    OTHER = "other"


class PostKind(enum.StrEnum):
    MEMBER = "member"  # a person serves in a unit
    COMMANDER = "commander"  # a person commands a unit (a command post)
    PART_OF = "part_of"  # a unit answers to a parent unit (the hierarchy)
    OPERATES = "operates"  # a unit runs a facility


class Role(enum.StrEnum):
    """How an actor is linked to an incident."""

    DIRECT_PERPETRATOR = "direct_perpetrator"
    PRESENT_UNIT = "present_unit"
    COMMANDER = "commander"
    GAVE_ORDER = "gave_order"
    DETENTION_FACILITY = "detention_facility"
    OFFICIAL_RESPONSIBLE = "official_responsible"


class LinkStatus(enum.StrEnum):
    """alleged -> corroborated -> established; disputed and rejected feed the exculpatory
    section of a dossier."""

    ALLEGED = "alleged"
    CORROBORATED = "corroborated"
    ESTABLISHED = "established"
    DISPUTED = "disputed"
    REJECTED = "rejected"


class ChainDecision(enum.StrEnum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


ACTOR_KIND_ENUM = Enum(ActorKind, name="actor_kind", values_callable=_values)
FORCE_KIND_ENUM = Enum(ForceKind, name="force_kind", values_callable=_values)
POST_KIND_ENUM = Enum(PostKind, name="actor_post_kind", values_callable=_values)
ROLE_ENUM = Enum(Role, name="involvement_role", values_callable=_values)
LINK_STATUS_ENUM = Enum(LinkStatus, name="involvement_status", values_callable=_values)
CHAIN_DECISION_ENUM = Enum(ChainDecision, name="chain_decision", values_callable=_values)


class Actor(Base):
    __tablename__ = "actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)  # "ACT-" + random
    kind: Mapped[ActorKind] = mapped_column(ACTOR_KIND_ENUM, index=True)
    force: Mapped[ForceKind | None] = mapped_column(FORCE_KIND_ENUM)
    place_id: Mapped[str | None] = mapped_column(String(64))  # gazetteer id (facilities)
    # The config/actors.json id of a seeded unit or facility (so seeding runs once).
    seed_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Sealed JSON: names (latin, cyrillic), aliases, transliterations, identifying details.
    details_blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    photos: Mapped[list[EvidenceItem]] = relationship(
        secondary="actor_photos", order_by="EvidenceItem.id")

    @property
    def subject(self) -> str:
        return f"actor:{self.public_id}"


class ActorPhoto(Base):
    """A photo of a person: an evidence item (with its own custody), never a loose file."""

    __tablename__ = "actor_photos"

    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), primary_key=True)


class ActorPost(Base):
    """`actor` stood in `kind` relation to `target` from `start` to `end` (either open)."""

    __tablename__ = "actor_posts"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
                        name="post_dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)  # "POS-" + random
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    kind: Mapped[PostKind] = mapped_column(POST_KIND_ENUM)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    # Sealed JSON {"rank": ..., "position": ...}, or None when neither was given.
    details_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[Actor] = relationship(foreign_keys=[actor_id])
    target: Mapped[Actor] = relationship(foreign_keys=[target_id])
    citations: Mapped[list[Citation]] = relationship(
        foreign_keys="Citation.post_id", order_by="Citation.id")

    def covers(self, day: date) -> bool:
        return ((self.start_date is None or self.start_date <= day)
                and (self.end_date is None or day <= self.end_date))

    @property
    def subject(self) -> str:
        return f"actor-post:{self.public_id}"


class Involvement(Base):
    __tablename__ = "involvements"
    __table_args__ = (UniqueConstraint("incident_id", "actor_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)  # "INV-" + random
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    role: Mapped[Role] = mapped_column(ROLE_ENUM)
    status: Mapped[LinkStatus] = mapped_column(LINK_STATUS_ENUM, default=LinkStatus.ALLEGED)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[Actor] = relationship()
    citations: Mapped[list[Citation]] = relationship(
        foreign_keys="Citation.involvement_id", order_by="Citation.id")
    changes: Mapped[list[StatusChange]] = relationship(order_by="StatusChange.id")

    @property
    def subject(self) -> str:
        return f"involvement:{self.public_id}"


class StatusChange(Base):
    """Who moved an involvement from one status to another, and why (the reason sealed)."""

    __tablename__ = "involvement_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    involvement_id: Mapped[int] = mapped_column(ForeignKey("involvements.id"), index=True)
    old_status: Mapped[LinkStatus | None] = mapped_column(LINK_STATUS_ENUM)
    new_status: Mapped[LinkStatus] = mapped_column(LINK_STATUS_ENUM)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Citation(Base):
    """The evidence for a link or a post: an item, where in it, and the excerpt (sealed)."""

    __tablename__ = "citations"
    __table_args__ = (
        CheckConstraint("(involvement_id IS NULL) <> (post_id IS NULL)",
                        name="citation_of_one_thing"),
        CheckConstraint("time_end_ms IS NULL OR time_start_ms IS NULL "
                        "OR time_end_ms >= time_start_ms", name="citation_times_ordered"),
        CheckConstraint("page IS NULL OR page >= 1", name="citation_page_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)  # "CIT-" + random
    involvement_id: Mapped[int | None] = mapped_column(ForeignKey("involvements.id"),
                                                       index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("actor_posts.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), index=True)
    time_start_ms: Mapped[int | None] = mapped_column(Integer)  # in a video or recording
    time_end_ms: Mapped[int | None] = mapped_column(Integer)
    page: Mapped[int | None] = mapped_column(Integer)  # in a document
    excerpt_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[EvidenceItem] = relationship()
    translations: Mapped[list[Translation]] = relationship(order_by="Translation.id")


class Translation(Base):
    """A reviewer's translation of a cited excerpt or page; the original is never touched."""

    __tablename__ = "translations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)  # "TRN-" + random
    citation_id: Mapped[int] = mapped_column(ForeignKey("citations.id"), index=True)
    language: Mapped[str] = mapped_column(String(16))
    translator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text_blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChainReview(Base):
    """A lawyer's decision on one derived command link (incident, unit, command post)."""

    __tablename__ = "chain_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("actor_posts.id"), index=True)
    decision: Mapped[ChainDecision] = mapped_column(CHAIN_DECISION_ENUM)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
