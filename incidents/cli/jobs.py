"""`flask --app wsgi worker`: an RQ worker for background jobs (needs REDIS_URL)."""

from __future__ import annotations

from datetime import timedelta

import click

from incidents.services.jobs import rq_queue_lost, rq_worker
from incidents.services.media.items import never_started
from incidents.web import context


@click.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queue is empty")
@click.option("--simple", is_flag=True,
              help="run jobs in the worker process instead of a forked work horse")
def worker_command(burst: bool, simple: bool) -> None:
    """Run background jobs (media processing) from the Redis queue."""
    jobs = context.jobs()
    if not jobs.uses_redis:
        raise click.ClickException("no REDIS_URL is set: jobs run inside the web process")
    queue = jobs.queue()
    # The default forks a work horse per job, so a decoder crash on a hostile file takes
    # down only that job, never the worker.
    grace = timedelta(seconds=jobs.settings.job_recover_grace_seconds)

    def recover() -> None:
        # A web process killed between a submission's commit and its enqueue leaves files
        # whose processing nobody queued; RQ's own pass cannot know of them.
        with context.database().new_session() as session:
            lost = never_started(session, grace)
        rq_queue_lost(queue, "process_item", lost)

    worker = rq_worker(queue, jobs.settings, simple=simple, recover=recover)
    # Jobs append custody events (previews, metadata). A non-forking worker signs them in a
    # background thread; a forking one must not run threads at all: a work horse forked
    # while the signer thread held a lock (the connection pool's, the key agent client's)
    # waits on it for ever. Its events are signed by the web servers' signers and by
    # `custody signer` (docs/deployment.md).
    signer = context.checkpoint_signer()
    if signer is not None and not burst and simple:
        signer.ensure_running()
    worker.work(burst=burst, with_scheduler=False)


COMMANDS = (worker_command,)
