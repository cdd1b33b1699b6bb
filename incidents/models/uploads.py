"""Resumable (tus 1.0.0) uploads in progress: who, how long, how far, and the encrypted pieces.

An upload is not evidence yet: the witness has not submitted. A "stream" upload is one
appendable blob from the start (``storage.appendable``): its data key sealed at creation,
its resume state stored here at every checkpoint, the secret half sealed under a capability
only the client holds (part of the upload URL, never stored). Older "segments" uploads keep
their bytes in encrypted segment blobs (one per PATCH) joined into one final blob when the
last byte arrives. A submission claims the final blob, which ends the upload (the row is
deleted in the submission's transaction).
An unclaimed upload expires and is swept with its bytes; it never enters the custody ledger.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.core.clock import utcnow
from incidents.models.base import Base
from incidents.models.types import UTCDateTime

# Declared names and types are client input: kept only as capped, cleaned metadata.
FILENAME_MAX = 255
FILETYPE_MAX = 127


class UploadFormat(enum.StrEnum):
    SEGMENTS = "segments"  # one segment blob per PATCH, joined at the end (before 0011)
    STREAM = "stream"  # one appendable blob, checkpointed as it arrives


class UploadState(enum.StrEnum):
    RECEIVING = "receiving"  # bytes still missing (offset < length)
    FINISHED = "finished"  # every byte arrived and the final blob is written


UPLOAD_STATE_ENUM = Enum(
    UploadState, name="upload_state", values_callable=lambda states: [s.value for s in states]
)


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id in the upload URL: random, so one witness cannot guess another's upload.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    # The declared file name, already a sealed blob written at creation (JSON {"text": ...},
    # encrypted under the vault public key) but not evidence yet: its keyless record fields,
    # sealed digest and commitment (services.uploads.PendingName), so that claiming it
    # needs no vault private key. None when no name was declared.
    pending_name: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    filetype: Mapped[str] = mapped_column(String(FILETYPE_MAX), default="")
    state: Mapped[UploadState] = mapped_column(UPLOAD_STATE_ENUM, default=UploadState.RECEIVING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The joined blob once every byte arrived. Not evidence yet: it gets its blob record
    # and custody event when a submission claims it. Its plaintext SHA-256 and commitment
    # salt are kept only sealed to the vault key, as in a blob record (DESIGN §3).
    blob_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    key_id: Mapped[str | None] = mapped_column(String(32))
    sealed_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    ciphertext_sha256: Mapped[str | None] = mapped_column(String(64))
    digest_key_id: Mapped[str | None] = mapped_column(String(32))
    sealed_digest: Mapped[bytes | None] = mapped_column(LargeBinary)
    # custody.commitment(sha256, salt), made when the upload finished: claiming it needs no
    # vault private key (migration 0010; None for uploads finished before it).
    commitment: Mapped[str | None] = mapped_column(String(64))

    format: Mapped[str] = mapped_column(String(16), default=UploadFormat.SEGMENTS.value,
                                        server_default=UploadFormat.SEGMENTS.value)
    # Stream uploads: the last checkpoint. The backend's half names files or S3 parts (no
    # secret); the other half (data key, hash states) opens only with the capability.
    sealed_state: Mapped[bytes | None] = mapped_column(LargeBinary)
    backend_state: Mapped[str | None] = mapped_column(Text)
    # Which request is appending now, and when it last checkpointed: a second request
    # waits (423) until the first ends or goes quiet (services.uploads.LEASE).
    writer: Mapped[str | None] = mapped_column(String(32))
    writer_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)

    segments: Mapped[list[UploadSegment]] = relationship(
        back_populates="upload",
        order_by="UploadSegment.offset",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def complete(self) -> bool:
        return self.offset >= self.length


class UploadSegment(Base):
    """The bytes of one PATCH (or of the part that arrived before the client went away)."""

    __tablename__ = "upload_segments"
    __table_args__ = (UniqueConstraint("upload_id", "offset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"))
    offset: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    blob_id: Mapped[str] = mapped_column(String(32), unique=True)
    key_id: Mapped[str] = mapped_column(String(32))
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)

    upload: Mapped[Upload] = relationship(back_populates="segments")
