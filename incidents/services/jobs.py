"""Background work: the same job functions run in-process or on RQ workers (DESIGN §6).

Without `REDIS_URL` a small thread pool in the web process runs jobs, started on first use.
With it, jobs go to an RQ queue and `flask --app wsgi worker` runs them, on this machine or
others. A job is a name from `JOBS` plus JSON-able arguments (ids, never content); it runs
with its own database session and the application's blob store. Job functions, RQ and the
Redis client are named by "module:attribute" and imported only when used, so a web process
that merely queues jobs does not load the media libraries or RQ.

`incidents.web.jobs.init_app` registers the runner as the application's "jobs" and the
submission services' after-commit hook as its "media_queue". No Flask here: RQ names the job
entry point (`RUN_JOB`, which runs inside `flask --app wsgi worker`'s application) by string.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from incidents.core.database import Database
from incidents.core.settings import Settings
from storage.blobstore import BlobStore

if TYPE_CHECKING:  # annotations only: rq is imported at run time only when REDIS_URL is set
    from rq import Queue
    from rq.job import Job

log = logging.getLogger(__name__)

QUEUE_NAME = "incidents"
IN_PROCESS_WORKERS = 2
# A 2 GiB video is read a few times over; generous, so RQ does not kill honest work.
JOB_TIMEOUT_SECONDS = 3600
# A job whose work horse died (a decoder crash) or whose worker was killed (a deploy, an
# out-of-memory kill, a lost machine) is queued again this many times. Jobs are idempotent
# (a finished item is left as it is), so running one twice costs time, never a duplicate.
JOB_RETRIES = 2

JobFunction = Callable[[Session, BlobStore, Any], Any]
# Job name -> "module:function", imported when a job first runs (as RQ names its jobs). The
# web process queues jobs but, with REDIS_URL, never runs them: it must not carry the media
# stack (Pillow, PyAV, imagehash/numpy/scipy, pillow_heif: ~33 MiB per process) for that.
JOBS: dict[str, str] = {"process_item": "incidents.services.media.process:process_item"}
# The queue and its client, likewise imported only when REDIS_URL is set.
RQ_QUEUE = "rq:Queue"
RQ_RETRY = "rq:Retry"
RQ_WORKERS = {"fork": "rq:Worker", "simple": "rq:SimpleWorker"}
REDIS_CLIENT = "redis:Redis"
# What RQ workers call: `incidents.web.jobs.run_job` finds the application's runner.
RUN_JOB = "incidents.web.jobs.run_job"


def resolve(target: str) -> Any:
    """The object a "module:attribute" name refers to, importing its module if need be."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def job_function(name: str) -> JobFunction:
    """The function registered as job `name` (KeyError if there is none)."""
    function: JobFunction = resolve(JOBS[name])
    return function


def rq_queue(redis_url: str, **options: Any) -> Queue:
    """The RQ queue on `redis_url`."""
    connection = resolve(REDIS_CLIENT).from_url(redis_url)
    queue: Queue = resolve(RQ_QUEUE)(QUEUE_NAME, connection=connection, **options)
    return queue


def job_id(name: str, *args: Any) -> str:
    """The RQ id of job `name` on `args`: the same every time, so RQ can be asked for it."""
    return "-".join([name, *map(str, args)])  # RQ allows letters, digits, "_" and "-"


def rq_enqueue(queue: Queue, name: str, *args: Any) -> Job:
    """Queue job `name` on RQ, to be run again if the process running it dies."""
    return queue.enqueue(RUN_JOB, name, *args, job_id=job_id(name, *args),
                         job_timeout=JOB_TIMEOUT_SECONDS, retry=resolve(RQ_RETRY)(max=JOB_RETRIES))


LIVE = frozenset({"queued", "started", "deferred", "scheduled"})


def rq_queue_lost(queue: Queue, name: str, args: list[Any]) -> int:
    """Queue job `name` again for each of `args` that RQ does not hold (lost with a web
    process killed between its commit and its enqueue); how many were queued."""
    queued = 0
    for arg in args:
        job = queue.fetch_job(job_id(name, arg))
        status = job.get_status(refresh=True) if job is not None else None
        if getattr(status, "value", status) in LIVE:  # RQ's JobStatus is a str Enum
            continue
        rq_enqueue(queue, name, arg)
        log.warning("queued job %s again: RQ did not hold it", name)
        queued += 1
    return queued


def rq_worker(queue: Queue, settings: Settings, *, simple: bool,
              recover: Callable[[], object] | None = None) -> Any:
    """An RQ worker on `queue`: a forked work horse per job, or jobs run in the worker itself.

    RQ finds the jobs of a worker that died (their heartbeat expired, ~60 s after the last)
    in its maintenance pass and queues them again while they have retries left. The pass
    runs between two waits for a job, so both are bounded by `job_reaper_seconds`: a
    killed worker's job is running again within about a minute and a half of that. After
    RQ's own pass the worker calls `recover` (the jobs that were never queued at all).
    """
    every = max(1, settings.job_reaper_seconds)
    base = resolve(RQ_WORKERS["simple" if simple else "fork"])

    class Worker(base):  # type: ignore[misc, valid-type]
        def run_maintenance_tasks(self) -> None:
            super().run_maintenance_tasks()
            if recover is not None:
                try:
                    recover()
                except Exception as e:  # the next pass tries again
                    log.error("looking for lost jobs failed: %s", type(e).__name__)

    # RQ waits for a job for worker_ttl - 15 s at a time; its registration lives worker_ttl.
    return Worker([queue], connection=queue.connection, maintenance_interval=every,
                  worker_ttl=every + 15)


class Jobs:
    """Runs jobs for one application: in a lazily started thread pool, or through RQ."""

    def __init__(self, settings: Settings, database: Database,
                 store: Callable[[], BlobStore]) -> None:
        self.settings = settings
        self.database = database
        self._store = store
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @property
    def uses_redis(self) -> bool:
        return bool(self.settings.redis_url)

    def queue(self) -> Queue:
        return rq_queue(self.settings.redis_url, default_timeout=JOB_TIMEOUT_SECONDS)

    def enqueue(self, name: str, *args: Any) -> Future[Any] | Job:
        """Queue job `name`; returns a Future (in-process) or an RQ Job."""
        if name not in JOBS:
            raise KeyError(f"unknown job {name!r}")
        if self.uses_redis:
            return rq_enqueue(self.queue(), name, *args)
        return self._executor().submit(self._run_logged, name, *args)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=IN_PROCESS_WORKERS,
                                                thread_name_prefix="incidents-job")
            return self._pool

    def run(self, name: str, *args: Any) -> Any:
        """Run a job now, in this thread, with a fresh session."""
        if os.getpid() != self._pid:
            # A forked RQ work horse: never reuse the parent's database connections.
            self.database.engine.dispose(close=False)
            self._pid = os.getpid()
        with self.database.new_session() as session:
            return job_function(name)(session, self._store(), *args)

    def _run_logged(self, name: str, *args: Any) -> Any:
        try:
            return self.run(name, *args)
        except Exception as e:
            log.error("job %s failed: %s", name, type(e).__name__)
            raise

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait)


def enqueue(target: Jobs | Settings, name: str, *args: Any) -> Future[Any] | Job:
    """Queue a job on a runner, or (bare Settings, a script without an application) on RQ.

    Given bare Settings (a script without an application), only RQ is possible: the
    in-process pool belongs to an application.
    """
    if isinstance(target, Settings):
        if not target.redis_url:
            raise ValueError("in-process jobs need the application; pass the Flask app")
        if name not in JOBS:
            raise KeyError(f"unknown job {name!r}")
        return rq_enqueue(rq_queue(target.redis_url), name, *args)
    return target.enqueue(name, *args)
