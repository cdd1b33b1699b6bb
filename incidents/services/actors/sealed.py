"""Small JSON values sealed as evidence blobs, as testimony is (DESIGN §3).

Names of people, identifying details, excerpts, translations and reasons are allegations
about named people: each is stored with `blobs.ingest` (encrypted, hashed, a "stored"
custody event naming what it is part of) and read back only after a "viewed" event has
committed (fail closed, as `blobs.open_for_reading`). `read_many` records the events of a
whole page in one transaction instead of one commit per value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from incidents.core.database import begin_write
from incidents.core.errors import N_, LedgerUnavailable, ServiceUnavailable
from incidents.models import BlobRecord, BlobStatus
from incidents.services import custody
from incidents.services.evidence import blobs
from storage.blobstore import BlobRef, BlobStore
from storage.errors import StorageError

log = logging.getLogger(__name__)

MAX_SEALED_BYTES = 256 * 1024


def seal(session: Session, store: BlobStore, value: Any, *, actor: str | None,
         part_of: str) -> str:
    """Store `value` as a sealed JSON blob in the caller's transaction; its blob id."""
    data = json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")
    ingested = blobs.ingest(session, store, [data], actor=actor, subject=part_of,
                            max_size=MAX_SEALED_BYTES)
    return ingested.record.id


def read_many(session: Session, store: BlobStore, blob_ids: Iterable[str | None], *,
              actor: str | None) -> dict[str, Any]:
    """Commit one "viewed" event per blob, then decrypt each; {blob id: value}."""
    wanted = sorted({b for b in blob_ids if b})
    if not wanted:
        return {}
    records = list(session.scalars(select(BlobRecord).where(
        BlobRecord.id.in_(wanted), BlobRecord.status == BlobStatus.ACTIVE)))
    try:
        begin_write(session)
        custody.append_many(session, [custody.NewEvent(actor=actor, action="viewed",
                                                       subject=f"blob:{r.id}")
                                      for r in records])
        session.commit()
    except SQLAlchemyError as e:
        session.rollback()
        log.error("sealed values not opened: ledger not writable (%s)", type(e).__name__)
        raise LedgerUnavailable(N_("The custody ledger cannot be written, so the evidence "
                                   "cannot be opened.")) from e
    values: dict[str, Any] = {}
    for record in records:
        ref = BlobRef(blob_id=record.id, key_id=record.key_id, sealed_key=record.sealed_key)
        try:
            with store.open(ref) as reader:
                data = reader.read(MAX_SEALED_BYTES + 1)
        except StorageError as e:
            log.error("sealed blob %s could not be opened: %s", record.id, type(e).__name__)
            raise ServiceUnavailable(N_("The evidence file could not be opened.")) from e
        values[record.id] = json.loads(data.decode("utf-8"))
    return values
