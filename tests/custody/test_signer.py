"""The background signer: access events signed within seconds, so a trimmed tail is caught
against the checkpoint state kept outside the database; concurrent signers never fork."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from incidents.app import create_app
from incidents.core.settings import Settings
from incidents.models import BlobRecord
from incidents.models.custody import Checkpoint, CustodyEvent, LedgerHead
from incidents.services import checkpoints, ledger_verify
from incidents.services.evidence import blobs
from incidents.services.signer import CheckpointSigner, sign_pending, unsigned_events
from tests.custody.conftest import add_events, ingest_bytes


@pytest.fixture
def live_app(app: Flask, settings: Settings) -> Iterator[Flask]:
    """The application as `make run` builds it: the background signer switched on."""
    live = create_app(dataclasses.replace(settings, checkpoint_signer_seconds=0.2))
    yield live
    signer = live.extensions["checkpoint_signer"]
    signer.stop()
    live.extensions["database"].engine.dispose()


def _wait_signed(app: Flask, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    with app.extensions["database"].new_session() as s:
        while time.monotonic() < deadline:
            if unsigned_events(s) == 0:
                return s.scalar(sa.select(sa.func.max(Checkpoint.size))) or 0
            time.sleep(0.05)
    raise AssertionError("the background signer did not sign within the timeout")


def _view(app: Flask, blob_id: str, times: int) -> None:
    store = app.extensions["blobstore"]
    with app.extensions["database"].new_session() as s:
        for _ in range(times):
            record = s.get(BlobRecord, blob_id)
            blobs.open_for_reading(s, store, record, actor="r" * 32, action="viewed").close()


def test_access_events_are_signed_within_seconds_by_the_running_app(live_app, session,
                                                                   store) -> None:
    blob_id = ingest_bytes(session, store, b"photo" * 100).record.id
    live_app.test_client().get("/")  # the first request starts this process's signer
    started = time.monotonic()
    _view(live_app, blob_id, 3)
    size = _wait_signed(live_app)
    assert time.monotonic() - started < 5
    with live_app.extensions["database"].new_session() as s:
        assert size == s.get(LedgerHead, 1).size


def test_a_trimmed_unsigned_tail_is_caught_against_the_state_file(
        live_app, session, store, keys, settings) -> None:
    blob_id = ingest_bytes(session, store, b"video" * 100).record.id
    live_app.test_client().get("/")
    _view(live_app, blob_id, 2)
    signed = _wait_signed(live_app)
    live_app.extensions["checkpoint_signer"].stop()
    # The attacker removes the access events, the checkpoints covering them, and fixes
    # the head, so the table, the head and the checkpoints agree with each other.
    trimmed = session.scalars(sa.select(CustodyEvent).where(CustodyEvent.action == "viewed")
                              .order_by(CustodyEvent.seq)).all()
    first = trimmed[0].seq
    assert trimmed[-1].seq == signed - 1
    keep = session.get(CustodyEvent, first - 1)
    session.execute(sa.delete(CustodyEvent).where(CustodyEvent.seq >= first))
    session.execute(sa.delete(Checkpoint).where(Checkpoint.size > first))
    session.execute(sa.update(LedgerHead).values(size=first, hash=keep.hash))
    session.commit()
    report = ledger_verify.verify(session, keys, settings)
    assert not report.ok
    (problem,) = [p for p in report.problems if p.kind == "state"]
    assert problem.where == "state file (checkpoint-state.json)"
    assert f"covers {signed} events but the ledger holds {first}" in problem.message


def test_two_signers_with_separate_state_files_never_fork_the_log(
        app, session, keys, settings, tmp_path) -> None:
    database = app.extensions["database"]
    other_host = dataclasses.replace(settings, instance_path=tmp_path / "host-b")
    (tmp_path / "host-b").mkdir()
    signers = [CheckpointSigner(database, keys, settings, 0.01),
               CheckpointSigner(database, keys, other_host, 0.01)]
    stop = threading.Event()

    def append() -> None:
        while not stop.is_set():
            with database.new_session() as s:
                add_events(s, 3)

    writer = threading.Thread(target=append)
    for signer in signers:
        signer.ensure_running()
    writer.start()
    time.sleep(2)
    stop.set()
    writer.join()
    for signer in signers:
        signer.stop()
    with database.new_session() as s:
        sign_pending(s, keys, settings)
        rows = s.scalars(sa.select(Checkpoint).order_by(Checkpoint.size)).all()
        assert len({r.size for r in rows}) == len(rows)
        assert sum(signer.signed for signer in signers) >= 2
    report = ledger_verify.verify(session, keys, settings)
    assert report.ok, report.problems


def test_the_signer_command_signs_what_is_pending(app, runner, session) -> None:
    add_events(session, 4)
    result = runner.invoke(args=["custody", "signer", "--once"])
    assert result.exit_code == 0, result.output
    assert "signed checkpoint of size 4" in result.output
    assert runner.invoke(args=["custody", "signer", "--once"]).output == "nothing to sign\n"
    assert checkpoints.latest_checkpoint(session).size == 4
