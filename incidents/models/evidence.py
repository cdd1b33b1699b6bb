"""Stored evidence blobs: where the bytes are and how their data key is sealed.

The plaintext SHA-256 and the commitment salt are kept only sealed to the vault key
(`sealed_digest`, DESIGN §3): whoever holds the database alone cannot confirm that we
hold a known file. The ciphertext SHA-256 is in the clear for keyless scrubbing.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from incidents.core.clock import utcnow
from incidents.models.base import Base
from incidents.models.types import UTCDateTime


class BlobStatus(enum.StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"


BLOB_STATUS_ENUM = Enum(
    BlobStatus, name="blob_status", values_callable=lambda values: [v.value for v in values]
)


class BlobRecord(Base):
    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random; the storage name
    size: Mapped[int] = mapped_column(BigInteger)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    # HPKE-sealed {plaintext SHA-256, commitment salt}; docs/formats.md "Custody events".
    digest_key_id: Mapped[str] = mapped_column(String(32))
    sealed_digest: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[BlobStatus] = mapped_column(BLOB_STATUS_ENUM, default=BlobStatus.ACTIVE)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def blob_id(self) -> str:
        return self.id

    @property
    def subject(self) -> str:
        """How custody events name this blob."""
        return f"blob:{self.id}"

    def __repr__(self) -> str:
        return f"<BlobRecord {self.id} {self.status.value}>"


class SealingBacklog(Base):
    """Text that was stored in the clear before migration 0013, waiting to be sealed.

    The migration cannot reach the blob store and the ledger's append path, so it moves each
    old clear value here (and drops the clear column); `flask --app wsgi vault seal-backlog`
    (run by `init`) seals each as a blob with its "stored" event, writes the blob id into
    `column` of row `row_id` of `table_name`, deletes the row here and compacts the SQLite
    file. Empty on any instance made after 0013.
    """

    __tablename__ = "sealing_backlog"

    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int] = mapped_column(BigInteger)
    column: Mapped[str] = mapped_column(String(64))  # the new column (*_blob_id, pending_name)
    value: Mapped[str] = mapped_column(Text)
