"""Orphaned blobs (stored, but no database row): quarantined and logged, never attached."""

from __future__ import annotations

import io
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from incidents.app import create_app
from incidents.core.clock import utcnow
from incidents.models import BlobRecord, CustodyEvent, Upload, UploadSegment
from incidents.services.evidence import blobs
from incidents.services.evidence import orphans as orphan_blobs
from tests.helpers import gen_user

KILLED_SCRIPT = """
import sys, time
from sqlalchemy import event
from incidents.app import create_app
from incidents.web.db import get_db
from incidents.services.evidence import blobs
from incidents.core.settings import Settings

settings = Settings.load(instance_path=sys.argv[1], environ={}, database_url=sys.argv[2])
app = create_app(settings)
with app.app_context(), get_db().new_session() as session:
    @event.listens_for(session, "before_commit")
    def _stop_before_the_commit(_session):
        print("blob committed", flush=True)
        time.sleep(60)  # SIGKILLed here: the blob is in the store, the row not committed

    with blobs.unit_of_work(session):
        blobs.ingest(session, app.extensions["blobstore"], [b"orphan " * 100], actor=None,
                     subject="submission:1", max_size=1 << 20)
"""


def _age(store, blob_id: str, seconds: float) -> None:
    path = store.backend.root / blob_id[:2] / blob_id
    when = time.time() - seconds
    os.utime(path, (when, when))


def test_a_blob_whose_process_was_killed_before_the_commit_is_quarantined_and_logged(
        app, session, store, settings, runner, caplog):
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", KILLED_SCRIPT, str(settings.instance_path),
         settings.database_url], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    try:
        assert proc.stdout.readline().strip() == b"blob committed"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    (orphan,) = store.backend.names()  # visible in the store, with no row
    assert session.scalar(sa.select(sa.func.count()).select_from(BlobRecord)) == 0
    with caplog.at_level(logging.WARNING, logger="incidents.services.evidence.blobs"):
        result = runner.invoke(args=["custody", "sweep", "--orphan-grace", "0"])
    assert result.exit_code == 0, result.output
    assert f"quarantined {orphan}" in result.output
    assert any(orphan in r.getMessage() for r in caplog.records)
    assert list(store.backend.names()) == []
    assert list(store.backend.quarantined()) == [orphan]
    assert session.scalar(sa.select(sa.func.count()).select_from(BlobRecord)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(CustodyEvent)
                          .where(CustodyEvent.subject == f"blob:{orphan}")) == 0


def test_an_orphan_younger_than_the_grace_period_is_left_alone(session, store, runner):
    stored = store.put(io.BytesIO(b"a write whose transaction may still be running"))
    result = runner.invoke(args=["custody", "sweep"])
    assert result.exit_code == 0, result.output
    assert "0 orphaned blob(s)" in result.output
    assert list(store.backend.names()) == [stored.blob_id]


def test_recorded_blobs_and_pieces_of_uploads_in_progress_are_not_orphans(session, store):
    recorded = blobs.ingest(session, store, io.BytesIO(b"evidence"), actor=None,
                            subject="submission:1", max_size=1 << 20).record.id
    session.commit()
    segment = store.put(io.BytesIO(b"first part of a resumable upload"))
    upload = Upload(public_id=secrets.token_hex(16), owner_id=gen_user().id, length=1000,
                    offset=32, expires_at=utcnow() + timedelta(hours=1))
    session.add(upload)
    session.flush()
    session.add(UploadSegment(upload_id=upload.id, offset=0, size=32, blob_id=segment.blob_id,
                              key_id=segment.key_id, sealed_key=segment.sealed_key))
    session.commit()
    assert orphan_blobs.quarantine_orphans(session, store, older_than=0) == []
    assert sorted(store.backend.names()) == sorted([recorded, segment.blob_id])


def test_old_orphans_are_quarantined_at_start_up(app, store, settings):
    stored = store.put(io.BytesIO(b"left behind by a killed worker"))
    _age(store, stored.blob_id, settings.orphan_grace_seconds + 60)
    create_app(settings)
    assert list(store.backend.names()) == []
    assert list(store.backend.quarantined()) == [stored.blob_id]
