"""Wire the job runner into the application; the entry point RQ workers call."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from flask import Flask

from incidents.core.database import Database
from incidents.core.settings import Settings
from incidents.services import jobs as services_jobs
from incidents.services.jobs import Jobs
from incidents.web import context
from storage.blobstore import BlobStore

if TYPE_CHECKING:
    from rq.job import Job

log = logging.getLogger(__name__)


def run_job(name: str, *args: Any) -> Any:
    """The function RQ workers call (`incidents.services.jobs.RUN_JOB`): runs in
    `flask --app wsgi worker`'s app context."""
    return context.jobs().run(name, *args)


def enqueue(target: Flask | Jobs | Settings, name: str, *args: Any) -> Future[Any] | Job:
    """Queue a job: `jobs.enqueue(app, "process_item", item_id)` (see services.jobs.enqueue)."""
    return services_jobs.enqueue(context.jobs_of(target) if isinstance(target, Flask) else target,
                                 name, *args)


def init_app(app: Flask, settings: Settings, database: Database) -> None:
    def store() -> BlobStore:
        return context.blobstore_of(app)

    jobs = Jobs(settings, database, store)
    context.register(app, "jobs", jobs)

    def queue_media(item_ids: list[str]) -> None:
        for item_id in item_ids:
            try:
                jobs.enqueue("process_item", item_id)
            except Exception as e:  # the evidence is committed; processing can be re-queued
                log.error("could not queue processing of an item: %s", type(e).__name__)

    context.register(app, "media_queue", queue_media)
