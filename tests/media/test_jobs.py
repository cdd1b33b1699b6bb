"""The same job runs in the in-process pool and on RQ workers (with TEST_REDIS_URL)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import update
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.models import EvidenceItem, MediaProcessing, ProcessingStatus
from incidents.services import jobs
from incidents.services.media.items import never_started
from incidents.web import jobs as web_jobs
from tests.conftest import REDIS_URL
from tests.fixtures import media
from tests.media.conftest import ItemFactory

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to run RQ workers")


def status(session: Session, item_id: int) -> ProcessingStatus | None:
    session.expire_all()
    row = session.get(MediaProcessing, item_id)
    return row.status if row else None


def test_the_in_process_worker_processes_an_item_in_the_background(
        app: Flask, session: Session, gen_item: ItemFactory) -> None:
    item = gen_item(media.photo("JPEG"), name="a.jpg", declared_type="image/jpeg")
    settings = dataclasses.replace(app.extensions["settings"], redis_url="")
    runner = jobs.Jobs(settings, app.extensions["database"], lambda: app.extensions["blobstore"])
    try:
        future = jobs.enqueue(runner, "process_item", item.public_id)
        future.result(timeout=60)
    finally:
        runner.shutdown()
    assert status(session, item.id) is ProcessingStatus.DONE


def test_the_submission_hook_queues_processing_of_new_items(
        app: Flask, session: Session, gen_item: ItemFactory) -> None:
    item = gen_item(media.photo("PNG"), name="a.png", declared_type="image/png")
    app.extensions["media_queue"]([item.public_id])
    if REDIS_URL:
        app.test_cli_runner().invoke(args=["worker", "--burst", "--simple"])
    else:
        app.extensions["jobs"].shutdown(wait=True)
    assert status(session, item.id) is ProcessingStatus.DONE


def test_an_unknown_job_name_is_refused(app: Flask) -> None:
    with pytest.raises(KeyError):
        web_jobs.enqueue(app, "rm_rf", 1)


def test_a_hostile_file_does_not_stop_the_worker(
        app: Flask, session: Session, gen_item: ItemFactory) -> None:
    settings = dataclasses.replace(app.extensions["settings"], redis_url="")
    runner = jobs.Jobs(settings, app.extensions["database"], lambda: app.extensions["blobstore"])
    bomb = gen_item(media.png_bomb(20000, 20000), name="b.png")
    photo = gen_item(media.photo("JPEG"), name="a.jpg")
    try:
        futures = [runner.enqueue("process_item", i.id) for i in (bomb, photo)]
        for future in futures:
            future.result(timeout=60)
    finally:
        runner.shutdown()
    assert status(session, bomb.id) is status(session, photo.id) is ProcessingStatus.DONE


@needs_redis
@pytest.mark.parametrize("simple", [True, False], ids=["simple-worker", "forking-worker"])
def test_an_rq_worker_runs_process_item_end_to_end(
        app: Flask, runner: FlaskCliRunner, session: Session, gen_item: ItemFactory,
        simple: bool) -> None:
    item = gen_item(media.video("mp4"), name="v.mp4", declared_type="video/mp4")
    job = web_jobs.enqueue(app, "process_item", item.public_id)
    args = ["worker", "--burst"] + (["--simple"] if simple else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    job.refresh()
    assert job.get_status() == "finished"
    assert status(session, item.id) is ProcessingStatus.DONE


def test_the_worker_command_needs_redis(app: Flask) -> None:
    if REDIS_URL:
        pytest.skip("Redis is configured in this run")
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL" in result.output


def _received_long_ago(session: Session, item_id: int) -> None:
    session.execute(update(EvidenceItem).where(EvidenceItem.id == item_id)
                    .values(received_at=utcnow() - timedelta(minutes=5)))
    session.commit()


def test_files_whose_processing_never_started_are_found_once_old_enough(
        app: Flask, session: Session, gen_item: ItemFactory) -> None:
    gen_item(media.photo("PNG"), name="a.png", declared_type="image/png")  # too fresh
    old = gen_item(media.photo("PNG"), name="b.png", declared_type="image/png")
    done = gen_item(media.photo("PNG"), name="c.png", declared_type="image/png")
    _received_long_ago(session, old.id)
    _received_long_ago(session, done.id)
    settings = dataclasses.replace(app.extensions["settings"], redis_url="")
    runner = jobs.Jobs(settings, app.extensions["database"], lambda: app.extensions["blobstore"])
    try:
        runner.enqueue("process_item", done.public_id).result(timeout=60)
    finally:
        runner.shutdown()
    assert never_started(session, timedelta(minutes=1)) == [old.public_id]


@needs_redis
def test_a_file_its_web_process_never_queued_is_processed_by_a_worker(
        app: Flask, runner: FlaskCliRunner, session: Session, gen_item: ItemFactory) -> None:
    # The web process died between the submission's commit and its enqueue: no job at all.
    lost = gen_item(media.photo("JPEG"), name="a.jpg", declared_type="image/jpeg")
    _received_long_ago(session, lost.id)
    result = runner.invoke(args=["worker", "--burst", "--simple"])
    assert result.exit_code == 0, result.output
    assert status(session, lost.id) is ProcessingStatus.DONE


@needs_redis
def test_a_job_rq_still_holds_is_not_queued_twice(
        app: Flask, session: Session, gen_item: ItemFactory) -> None:
    waiting = gen_item(media.photo("JPEG"), name="a.jpg", declared_type="image/jpeg")
    queue = app.extensions["jobs"].queue()
    queue.empty()
    web_jobs.enqueue(app, "process_item", waiting.public_id)
    _received_long_ago(session, waiting.id)
    assert jobs.rq_queue_lost(queue, "process_item",
                              never_started(session, timedelta(minutes=1))) == 0
    assert queue.count == 1
    queue.empty()
