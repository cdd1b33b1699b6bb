"""Cases: a named collection of incidents and evidence for one proceeding, with members.

Only members see a case and export from it; admins manage membership (and, as admins,
see every case).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.core.clock import utcnow
from incidents.core.vocabulary import CaseKind
from incidents.models.accounts import User
from incidents.models.base import Base
from incidents.models.incidents import Incident
from incidents.models.submissions import EvidenceItem
from incidents.models.types import UTCDateTime

NAME_MAX = 200


CASE_KIND_ENUM = Enum(CaseKind, name="case_kind",
                      values_callable=lambda kind: [m.value for m in kind])


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    kind: Mapped[CaseKind] = mapped_column(CASE_KIND_ENUM)
    # Sealed text (services.evidence.sealed): what a case is about can name people.
    description_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[User]] = relationship(
        secondary="case_members", primaryjoin="Case.id == CaseMember.case_id",
        secondaryjoin="User.id == CaseMember.user_id", order_by="User.id", viewonly=True)
    incidents: Mapped[list[Incident]] = relationship(secondary="case_incidents",
                                                     order_by="Incident.id")
    items: Mapped[list[EvidenceItem]] = relationship(secondary="case_items",
                                                     order_by="EvidenceItem.id")

    @property
    def subject(self) -> str:
        return f"case:{self.public_id}"


class CaseMember(Base):
    __tablename__ = "case_members"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseIncident(Base):
    __tablename__ = "case_incidents"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True,
                                             index=True)


class CaseItem(Base):
    __tablename__ = "case_items"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), primary_key=True,
                                         index=True)
