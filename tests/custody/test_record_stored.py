"""`blobs.adopt` and `blobs.record_stored`: a blob a push-style writer already stored."""

from __future__ import annotations

import hashlib
import os

import pytest
import sqlalchemy as sa

from incidents.core.database import begin_write
from incidents.core.errors import ServiceUnavailable
from incidents.models import BlobRecord, CustodyEvent
from incidents.services import custody
from incidents.services.evidence import blobs, integrity

DATA = b"video bytes streamed from a form part " * 1000


def _stream(store, data=DATA):
    writer = store.writer(max_size=1 << 20)
    for i in range(0, len(data), 4096):
        writer.write(memoryview(data)[i:i + 4096])
    return writer.commit()


def _record(session, store, stored, *, then=None):
    with blobs.unit_of_work(session):
        begin_write(session)
        blobs.adopt(session, store, stored.blob_id)
        ingested = blobs.record_stored(session, store, stored, actor="w" * 32,
                                       subject="submission:1")
        if then is not None:
            then()
    return ingested


def _fail():
    raise RuntimeError("the rest of the request failed")


def _count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_streamed_blob_is_recorded_with_a_row_and_a_stored_event(session, store):
    stored = _stream(store)
    ingested = _record(session, store, stored)
    assert ingested.sha256 == hashlib.sha256(DATA).hexdigest()
    (event,) = custody.events_for(session, f"blob:{stored.blob_id}")
    assert event.commitment == custody.commitment(ingested.sha256, ingested.salt)
    assert session.get(BlobRecord, stored.blob_id).size == len(DATA)
    assert store.exists(stored.blob_id)


def test_an_adopted_blob_is_deleted_when_the_transaction_rolls_back(session, store):
    stored = _stream(store)
    with pytest.raises(RuntimeError):
        _record(session, store, stored, then=_fail)
    assert not store.exists(stored.blob_id)
    assert _count(session, BlobRecord) == 0


def test_a_blob_gone_before_its_row_is_written_is_never_recorded(session, store):
    # A long form whose first file was swept into quarantine as an orphan meanwhile
    # (docs/custody.md): the request fails closed, the witness sends it again.
    stored = _stream(store)
    store.backend.quarantine(stored.blob_id)
    with pytest.raises(ServiceUnavailable):
        _record(session, store, stored)
    assert _count(session, BlobRecord) == 0
    assert _count(session, CustodyEvent) == 0
    assert list(store.backend.quarantined()) == [stored.blob_id]


def test_bytes_changed_on_disk_before_the_row_are_named_by_the_check(session, store):
    # No read-back at ingestion: the row keeps the hashes of what was written, so the
    # damage is found by the full check (`custody verify --blobs`) and by every read.
    stored = _stream(store)
    path = store.backend.root / stored.blob_id[:2] / stored.blob_id
    raw = bytearray(path.read_bytes())
    raw[-40] ^= 1
    os.chmod(path, 0o600)
    path.write_bytes(bytes(raw))
    _record(session, store, stored)
    record = session.get(BlobRecord, stored.blob_id)
    assert record.ciphertext_sha256 == stored.ciphertext_sha256
    assert record.ciphertext_sha256 != hashlib.sha256(raw).hexdigest()
    (event,) = custody.events_for(session, f"blob:{stored.blob_id}")
    problem = integrity.verify_blob(store, record, event.commitment)
    assert problem is not None
    assert problem.code == "BlobIntegrityError"
