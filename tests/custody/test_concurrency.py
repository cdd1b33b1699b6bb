from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from incidents.app import create_app
from incidents.models import BlobRecord, CustodyEvent
from incidents.services import ledger_verify
from tests.conftest import POSTGRES_URL
from tests.custody import workers

PROCESSES = 4
APPENDS_EACH = 15


def _run_concurrent_appends(url: str) -> None:
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=workers.append_many, args=(url, w, APPENDS_EACH))
             for w in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0


def _assert_one_linear_chain(session, keys, settings) -> None:
    report = ledger_verify.verify(session, keys, settings)
    assert report.ok, report.problems
    assert report.events == PROCESSES * APPENDS_EACH
    seqs = list(session.scalars(sa.select(CustodyEvent.seq).order_by(CustodyEvent.seq)))
    assert seqs == list(range(PROCESSES * APPENDS_EACH))
    per_worker = session.execute(sa.select(CustodyEvent.actor, sa.func.count())
                                 .group_by(CustodyEvent.actor)).all()
    assert sorted(c for _a, c in per_worker) == [APPENDS_EACH] * PROCESSES


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL is not set")
def test_concurrent_appends_from_several_processes_keep_one_chain_on_postgresql(
        session, keys, settings):
    _run_concurrent_appends(POSTGRES_URL)
    _assert_one_linear_chain(session, keys, settings)


@pytest.mark.skipif(bool(POSTGRES_URL), reason="the SQLite run covers SQLite")
def test_concurrent_appends_from_several_processes_keep_one_chain_on_sqlite(
        session, keys, settings):
    _run_concurrent_appends(settings.effective_database_url)
    _assert_one_linear_chain(session, keys, settings)


INGEST_SCRIPT = """
import sys, time
from incidents.app import create_app
from incidents.web.db import get_db
from incidents.services.evidence import blobs
from incidents.core.settings import Settings

settings = Settings.load(instance_path=sys.argv[1], environ={}, database_url=sys.argv[2])
app = create_app(settings)

def slow_stream():
    for n in range(1000):
        yield b"x" * 65536
        if n == 20:
            print("streaming", flush=True)
        time.sleep(0.01)

with app.app_context(), get_db().new_session() as session, blobs.unit_of_work(session):
    blobs.ingest(session, app.extensions["blobstore"], slow_stream(), actor=None,
                 subject="submission:1", max_size=1 << 30)
"""


def test_an_ingest_killed_mid_stream_leaves_no_row_and_no_visible_blob(
        app, session, store, settings, runner):
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", INGEST_SCRIPT, str(settings.instance_path),
         settings.database_url], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    try:
        assert proc.stdout.readline().strip() == b"streaming"
        time.sleep(0.1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert list(store.backend.names()) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(BlobRecord)) == 0
    # the interrupted write left a temporary file, invisible as a blob
    assert list(store.backend.root.rglob(".tmp-*"))
    result = runner.invoke(args=["custody", "sweep", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert "1 temporary object(s) removed" in result.output
    assert not list(store.backend.root.rglob(".tmp-*"))


def test_leftover_temporary_blobs_are_swept_at_start_up(app, store, settings):
    shard = store.backend.root / "ab"
    shard.mkdir(exist_ok=True)
    leftover = shard / ".tmp-0123456789abcdef"
    leftover.write_bytes(b"ciphertext of an interrupted write")
    old = time.time() - 7200
    os.utime(leftover, (old, old))
    create_app(settings)
    assert not leftover.exists()
