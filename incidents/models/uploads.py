"""Resumable (tus 1.0.0) uploads in progress: who, how long, how far, and the encrypted pieces.

An upload is not evidence yet: the witness has not submitted. Its bytes live in encrypted
segment blobs (one per PATCH) until the last byte arrives; then they are joined into one
final blob, and the segments are deleted. A submission claims the final blob, which ends
the upload (the row is deleted in the submission's transaction).
An unclaimed upload expires and is swept with its bytes; it never enters the custody ledger.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.core.clock import utcnow
from incidents.models.base import Base
from incidents.models.types import UTCDateTime

# Declared names and types are client input: kept only as capped, cleaned metadata.
FILENAME_MAX = 255
FILETYPE_MAX = 127


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
    filename: Mapped[str] = mapped_column(String(FILENAME_MAX), default="")
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
