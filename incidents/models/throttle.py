"""Counters of credential attempts per account, shared by every worker and process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from incidents.core.clock import utcnow
from incidents.models.base import Base
from incidents.models.types import UTCDateTime


class CredentialThrottle(Base):
    """One row per account name tried (a hash of it, never the name): attempts and delay.

    Used when no Redis is configured (incidents.services.throttle); the name need not
    exist, so a throttled unknown name looks exactly like a throttled real one.
    """

    __tablename__ = "credential_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
