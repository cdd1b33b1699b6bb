"""The chain-of-custody ledger: events, the head row that serialises appends, checkpoints.

The hash chain and canonical encoding are specified in docs/formats.md, "Custody events".
Columns hold exactly the values that are hashed (the time and the details as their
canonical text), so `verify` can recompute each hash without re-encoding anything.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from incidents.core.clock import utcnow
from incidents.models.base import Base
from incidents.models.types import UTCDateTime

HEAD_ID = 1


class CustodyEvent(Base):
    """One ledger event; `seq` is gapless from 0 and equals the event's Merkle leaf index."""

    __tablename__ = "custody_events"
    # The previous event of a subject, found under the append lock: one index probe.
    __table_args__ = (Index("ix_custody_events_subject_seq", "subject", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(32))  # RFC 3339 UTC, microseconds, "Z"
    actor: Mapped[str | None] = mapped_column(String(64))  # a user's public id, never a name
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(128), index=True)
    commitment: Mapped[str | None] = mapped_column(String(64))  # hex; DESIGN §3
    details_json: Mapped[str] = mapped_column("details", Text)  # canonical JSON text
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Format v2 (docs/formats.md "Per-subject chains"): the hash of the previous event with
    # the same subject (32 zero bytes for a subject's first event), and the salt of the
    # actor commitment the hash covers instead of the actor itself. Both NULL in v1 events,
    # which keep the format they were written in.
    subject_prev: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    actor_salt: Mapped[bytes | None] = mapped_column(LargeBinary(16))

    @property
    def version(self) -> int:
        return 1 if self.subject_prev is None else 2

    @property
    def details(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.details_json)
        return value

    @property
    def occurred_at(self) -> datetime:
        return datetime.strptime(self.time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def __repr__(self) -> str:
        return f"<CustodyEvent {self.seq} {self.action} {self.subject}>"


class LedgerHead(Base):
    """The single row every append locks: next sequence number and the last hash."""

    __tablename__ = "custody_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The vault key new blobs must be sealed to, set by rotation under the same lock, so
    # an ingest that sealed to an older key in another process re-seals before it commits.
    active_key_id: Mapped[str | None] = mapped_column(String(32))


class Checkpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint note) over the first `size` events."""

    __tablename__ = "custody_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)

    def __repr__(self) -> str:
        return f"<Checkpoint size={self.size}>"
