"""Fixtures for the custody ledger and evidence blobs: the app's real keys, store and DB."""

from __future__ import annotations

import io

from sqlalchemy.orm import Session

from incidents.core.database import begin_write
from incidents.models import CustodyEvent
from incidents.services import custody
from incidents.services.evidence import blobs
from storage.blobstore import BlobStore


def add_events(session: Session, count: int, *,
               subject: str = "submission:1") -> list[CustodyEvent]:
    begin_write(session)
    events = [custody.append(session, actor="a" * 32, action="annotated", subject=subject,
                             details={"n": i, "note": "тест"}) for i in range(count)]
    session.commit()
    return events


def ingest_bytes(session: Session, store: BlobStore, data: bytes,
                 *, subject: str = "submission:1") -> blobs.Ingested:
    with blobs.unit_of_work(session):
        return blobs.ingest(session, store, io.BytesIO(data), actor="w" * 32, subject=subject,
                            max_size=10 * 1024 * 1024)
