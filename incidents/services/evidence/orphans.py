"""Orphaned blobs: stored bytes that no row refers to, moved to quarantine and logged."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import BlobRecord
from incidents.models.uploads import Upload, UploadSegment
from storage.blobstore import BlobStore
from storage.errors import (
    BlobNotFound,
)

log = logging.getLogger(__name__)


# --- orphans ------------------------------------------------------------------------------


def quarantine_orphans(session: Session, store: BlobStore, *, older_than: float,
                       now: float | None = None) -> list[str]:
    """Move blobs that nothing in the database refers to into quarantine; return their ids.

    An orphan is a stored blob with no `blobs` row that is not a piece of an upload in
    progress (a segment or an unclaimed final blob) and was written more than
    `older_than` seconds ago: what a process killed between the blob write and the
    database commit leaves behind (THREATS: "orphans quarantined and logged, never
    attached silently"). It is moved to `quarantine/` in the same store, never deleted,
    and logged by id. Younger blobs may belong to a transaction still running: with
    `older_than=0` a running server's in-flight writes would be quarantined too.
    """
    cutoff = (time.time() if now is None else now) - older_than
    backend = store.backend
    candidates = list(backend.names())  # listed before the rows are read: see below
    if not candidates:
        return []
    # Read in a fresh transaction after listing, so a blob whose row committed meanwhile
    # is known; a blob committed after the listing is not a candidate at all.
    session.rollback()
    known: set[str] = set(session.scalars(select(BlobRecord.id)))
    known.update(session.scalars(select(UploadSegment.blob_id)))
    known.update(session.scalars(select(Upload.blob_id).where(Upload.blob_id.is_not(None))))
    # An unclaimed upload's sealed declared name (services.uploads.PendingName).
    known.update(name["blob_id"] for name in session.scalars(
        select(Upload.pending_name).where(Upload.pending_name.is_not(None))))
    session.rollback()
    moved: list[str] = []
    for blob_id in candidates:
        if blob_id in known:
            continue
        try:
            if backend.modified(blob_id) > cutoff:
                continue
            backend.quarantine(blob_id)
        except BlobNotFound:  # deleted or moved meanwhile (another worker's sweep)
            continue
        log.warning("orphaned blob %s (no database row) moved to quarantine", blob_id)
        moved.append(blob_id)
    return moved


