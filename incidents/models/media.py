"""What processing learned about an evidence item: status, flags, derivatives, perceptual hash.

Nothing extracted from a file is in a clear column: the metadata (EXIF, container tags) is
an encrypted JSON blob, the derivatives are blobs, and the perceptual hash is sealed (see
`MediaPhash`). What stays in the clear is what the server decided, not what the file says:
the sniffed type, the flags, and each derivative's kind and method.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from incidents.core.clock import utcnow
from incidents.models.base import Base
from incidents.models.types import UTCDateTime


class ProcessingStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"  # finished; flags say whether everything could be read
    FAILED = "failed"  # an unexpected error; the original is untouched, a retry may succeed


class MediaFlag(enum.StrEnum):
    TYPE_MISMATCH = "type_mismatch"  # declared type or extension disagrees with the bytes
    UNSUPPORTED = "unsupported"  # off the allow-list (SVG, HTML, archives…), or a codec we lack
    CORRUPT = "corrupt"  # damaged or truncated: decoders fail or the structure is broken
    BOMB = "bomb"  # declares more pixels than the decompression-bomb limit
    PARSE_TIMEOUT = "parse_timeout"  # the metadata parser ran out of time or memory
    POLYGLOT = "polyglot"  # an allowed type that also carries HTML/SVG/script markup
    EMPTY = "empty"  # zero bytes


class DerivativeKind(enum.StrEnum):
    PREVIEW = "preview"
    THUMBNAIL = "thumbnail"
    POSTER = "poster"
    VIDEO_PREVIEW = "video_preview"


def _values(kind: type[enum.StrEnum]) -> list[str]:
    return [member.value for member in kind]


STATUS_ENUM = Enum(ProcessingStatus, name="media_status", values_callable=_values)
FLAG_ENUM = Enum(MediaFlag, name="media_flag", values_callable=_values)
DERIVATIVE_ENUM = Enum(DerivativeKind, name="derivative_kind", values_callable=_values)


class MediaProcessing(Base):
    """One row per evidence item: where processing stands and what the bytes are."""

    __tablename__ = "media_processing"

    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), primary_key=True)
    status: Mapped[ProcessingStatus] = mapped_column(STATUS_ENUM,
                                                     default=ProcessingStatus.PENDING)
    sniffed_type: Mapped[str | None] = mapped_column(String(64))  # a MIME type from magic bytes
    kind: Mapped[str | None] = mapped_column(String(16))  # image, video, audio, document, other
    # The encrypted JSON of everything extracted (EXIF, container tags): reviewers only.
    metadata_blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(120))  # an exception class name, no content


class MediaFlagRecord(Base):
    __tablename__ = "media_flags"
    __table_args__ = (UniqueConstraint("item_id", "flag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), index=True)
    flag: Mapped[MediaFlag] = mapped_column(FLAG_ENUM)
    # A fixed, server-written description ("invalid marker in scan data"), never file content.
    reason: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MediaDerivative(Base):
    """A working copy (DESIGN §3) made from an original; its bytes are an encrypted blob."""

    __tablename__ = "media_derivatives"
    __table_args__ = (UniqueConstraint("item_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), index=True)
    kind: Mapped[DerivativeKind] = mapped_column(DERIVATIVE_ENUM)
    blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"), unique=True)
    mime: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(120))  # e.g. "preview-jpeg-1280 Pillow 13.0.0"
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MediaPhash(Base):
    """The 64-bit perceptual hash of an image or a video's poster, sealed to the vault key.

    Not in the clear: a pHash survives re-encoding and resizing, so with the database alone
    anyone could compute the hash of a published photo and learn which witness sent it (the
    reason the plaintext SHA-256 is sealed, DESIGN §3, applies with more force). Near-duplicate
    search unseals the hashes with the vault key, which reviewers' processes hold anyway.
    """

    __tablename__ = "media_phashes"

    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # "image" or "poster"
    key_id: Mapped[str] = mapped_column(String(32))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # HPKE (RFC 9180) of the 8 hash bytes
