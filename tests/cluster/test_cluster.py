"""Two web servers, two workers, PostgreSQL, S3 and Redis behaving as one instance.

In order (module-scoped cluster): a tus upload split over both servers; 50 concurrent
submissions over both (and, for the scaling factor, over one); one login counter for both;
media processed on the workers; racing checkpoint signers; a web server and a worker killed
mid-way; a worker killed while it runs a job, which another runs again; ``custody verify
--blobs`` clean at the end.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from flask import Flask
from PIL import Image
from redis import Redis
from rq import Worker
from rq.job import Job, JobStatus
from sqlalchemy import func, select, text

from incidents.app import create_app
from incidents.core.settings import Settings
from incidents.models import Checkpoint, MediaProcessing, Role
from incidents.models.media import ProcessingStatus
from incidents.web.db import get_session
from tests.cluster.conftest import BIN, ROOT, Cluster, Proc
from tests.fixtures.media import video
from tests.helpers import PASSPHRASE, gen_token, gen_user

pytestmark = pytest.mark.cluster

TUS = {"Tus-Resumable": "1.0.0"}
SUBMISSIONS = 50
RESULTS: dict[str, Any] = {}


def _metadata(n: int) -> str:
    return json.dumps({
        "testimony": f"Cluster test report {n}: synthetic, not a real account.",
        "occurred_at": "2022-01-05", "time_precision": "approximate", "place": "almaty",
        "categories": ["excessive_force"], "tags": [], "counts": {},
        "consent": {"legal": True, "research": False, "publication": False, "contact": False},
    })


def _photo(n: int) -> bytes:
    """A small real JPEG (Pillow's encoder), different for every submission."""
    image = Image.new("RGB", (64, 48), ((n * 37) % 256, (n * 91) % 256, 120))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


@pytest.fixture(scope="module")
def app(cluster: Cluster) -> Iterator[Flask]:
    """The same instance, opened in the test process for setup (users, tokens) and checks."""
    settings = Settings.load(environ=cluster.env)
    app = create_app(settings)
    with app.app_context():
        yield app
        get_session().close()
        app.extensions["database"].engine.dispose()


@pytest.fixture(autouse=True)
def _ledger_consistent(app: Flask) -> Iterator[None]:
    """After every step the ledger head and the events agree (names the step that broke it)."""
    yield
    session = get_session()
    session.expire_all()
    head = session.execute(text("SELECT size FROM custody_head")).scalar()
    events = session.execute(text("SELECT count(*) FROM custody_events")).scalar()
    session.commit()
    assert head == events, f"ledger head says {head} events, the table holds {events}"


@pytest.fixture(scope="module")
def witnesses(app: Flask) -> list[str]:
    return [gen_token(gen_user(Role.CONTRIBUTOR, pseudonym=f"cluster-witness-{i}"))
            for i in range(10)]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _submit(url: str, token: str, n: int, *, uploads: list[str] | None = None,
            photo: bytes | None = None,
            file: tuple[str, bytes, str] | None = None) -> requests.Response:
    """A witness's submission: testimony, and a photo, a file (name, bytes, type) or
    finished tus uploads if given."""
    meta = json.loads(_metadata(n))
    if uploads:
        meta["uploads"] = uploads
    parts: list[tuple[str, tuple[str | None, bytes | str, str]]] = [
        ("metadata", (None, json.dumps(meta), "application/json"))]
    if photo is not None:
        parts.append(("files", (f"photo-{n}.jpg", photo, "image/jpeg")))
    if file is not None:
        parts.append(("files", file))
    return requests.post(url + "/api/v1/submissions", headers=_auth(token), timeout=120,
                         files=parts)


def _hashes_in_receipt(url: str, token: str, submission: str) -> str:
    response = requests.get(f"{url}/api/v1/submissions/{submission}/receipt",
                            headers=_auth(token), timeout=60)
    assert response.status_code == 200, response.text
    return response.text


def test_a_tus_upload_sent_half_to_each_server_becomes_one_item(cluster: Cluster,
                                                                 witnesses: list[str]) -> None:
    a, b = cluster.web
    token = witnesses[0]
    data = os.urandom(12 * 1024 * 1024 + 333)  # past one S3 part, with a tail
    created = requests.post(a.url + "/api/v1/uploads/", timeout=60, headers={
        **_auth(token), **TUS, "Upload-Length": str(len(data))})
    assert created.status_code == 201, created.text
    path = created.headers["Location"]
    half = len(data) // 2
    for server, start, end in ((a, 0, half), (b, half, len(data))):
        response = requests.patch(server.url + path, data=data[start:end], timeout=120, headers={
            **_auth(token), **TUS, "Upload-Offset": str(start),
            "Content-Type": "application/offset+octet-stream"})
        assert response.status_code == 204, response.text
        assert response.headers["Upload-Offset"] == str(end)
    response = _submit(b.url, token, 0, uploads=[path.rsplit("/", 1)[-1]])
    assert response.status_code == 201, response.text
    receipt = _hashes_in_receipt(a.url, token, response.json()["id"])
    assert hashlib.sha256(data).hexdigest() in receipt


def _burst(servers: list[str], tokens: list[str], count: int,
           start: int) -> tuple[list[float], float, list[requests.Response]]:
    # INCIDENTS_CLUSTER_PHOTOS=1: every submission carries a photo (100 media jobs racing
    # the submissions; the heavier run, not part of `make test`).
    photos = os.environ.get("INCIDENTS_CLUSTER_PHOTOS") == "1"

    def one(i: int) -> tuple[float, requests.Response]:
        t0 = time.perf_counter()
        response = _submit(servers[i % len(servers)], tokens[i % len(tokens)], start + i,
                           photo=_photo(start + i) if photos else None)
        return time.perf_counter() - t0, response

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        done = list(pool.map(one, range(count)))
    wall = time.perf_counter() - t0
    return [d for d, _ in done], wall, [r for _, r in done]


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def test_fifty_concurrent_submissions_over_both_servers_all_commit(
        cluster: Cluster, witnesses: list[str]) -> None:
    urls = [w.url for w in cluster.web]
    one_lat, one_wall, one_resp = _burst(urls[:1], witnesses, SUBMISSIONS, 1000)
    two_lat, two_wall, two_resp = _burst(urls, witnesses, SUBMISSIONS, 2000)
    for response in [*one_resp, *two_resp]:
        assert response.status_code == 201, response.text
    RESULTS["one"] = (_p95(one_lat), SUBMISSIONS / one_wall)
    RESULTS["two"] = (_p95(two_lat), SUBMISSIONS / two_wall)
    line = (f"cluster: {SUBMISSIONS} concurrent submissions: one server p95 "
            f"{RESULTS['one'][0]:.2f} s, {RESULTS['one'][1]:.1f}/s; two servers p95 "
            f"{RESULTS['two'][0]:.2f} s, {RESULTS['two'][1]:.1f}/s; scaling "
            f"{RESULTS['two'][1] / RESULTS['one'][1]:.2f}x (load {os.getloadavg()[0]:.1f})")
    print("\n" + line)  # noqa: T201 (the benchmark figure, also in docs/performance.md)
    (cluster.instance.parent / "scaling.txt").write_text(line + "\n")
    ids = {r.json()["id"] for r in [*one_resp, *two_resp]}
    assert len(ids) == 2 * SUBMISSIONS


def _processing(app: Flask) -> dict[ProcessingStatus, int]:
    session = get_session()
    session.expire_all()
    rows = session.execute(select(MediaProcessing.status, func.count())
                           .group_by(MediaProcessing.status)).all()
    session.commit()
    return {status: n for status, n in rows}


def _files(app: Flask) -> int:
    session = get_session()
    n = session.execute(text("SELECT count(*) FROM evidence_items WHERE kind = 'file'")).scalar()
    session.commit()
    return int(n or 0)


def _wait_processed(app: Flask, timeout: float, allowed_stuck: int = 0) -> dict[Any, int]:
    """Until every file item is processed (a job not started yet has no row at all)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = _processing(app)
        finished = counts.get(ProcessingStatus.DONE, 0) + counts.get(ProcessingStatus.FAILED, 0)
        if finished >= _files(app) - allowed_stuck or time.monotonic() > deadline:
            return counts
        time.sleep(1)


def test_media_is_processed_by_the_rq_workers(cluster: Cluster, app: Flask,
                                             witnesses: list[str]) -> None:
    for n in range(6):
        response = _submit(cluster.web[n % 2].url, witnesses[n], 3000 + n, photo=_photo(n))
        assert response.status_code == 201, response.text
    counts = _wait_processed(app, timeout=240)
    assert counts.get(ProcessingStatus.DONE, 0) == _files(app) >= 7  # with the tus upload
    assert counts.get(ProcessingStatus.PENDING, 0) == 0
    assert counts.get(ProcessingStatus.RUNNING, 0) == 0
    # The web servers do not run jobs when Redis is configured: the workers' logs show them.
    logs = [(cluster.instance.parent / f"worker-{n}.log").read_text() for n in (1, 2)]
    assert all("process_item" in log or "run_job" in log for log in logs)


def test_two_checkpoint_signers_racing_never_fork_the_log(cluster: Cluster, app: Flask) -> None:
    for _round in range(3):
        _submit(cluster.web[0].url, gen_token(gen_user(Role.CONTRIBUTOR)), 9000 + _round)
        procs = [subprocess.Popen(  # noqa: S603 (fixed arguments)
            [str(BIN / "flask"), "--app", "wsgi", "custody", "checkpoint"], cwd=ROOT,
            env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        codes = [p.returncode for p in procs]
        assert 0 in codes, outs
    session = get_session()
    session.expire_all()
    sizes = session.scalars(select(Checkpoint.size).order_by(Checkpoint.size)).all()
    session.commit()
    assert sizes == sorted(set(sizes))  # never two roots for one size
    result = cluster.flask("custody", "verify")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_web_server_and_a_worker_killed_mid_way_lose_nothing_committed(
        cluster: Cluster, app: Flask, witnesses: list[str]) -> None:
    a, b = cluster.web
    big = os.urandom(3 * 1024 * 1024)  # long enough to be cut mid-body
    results: list[tuple[int, str, requests.Response | None]] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        server = (a, b)[i % 2]
        token = witnesses[i % len(witnesses)]
        try:
            response: requests.Response | None = _submit(server.url, token, 5000 + i,
                                                         photo=_photo(i) + big)
        except requests.RequestException:
            response = None  # the server died under this request
        with lock:
            results.append((i, token, response))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    a.kill()
    cluster.workers[0].kill()
    for thread in threads:
        thread.join(180)

    committed = [(token, r.json()["id"]) for _i, token, r in results
                 if r is not None and r.status_code == 201]
    assert committed, "no submission got through at all"
    for token, submission in committed:  # every 201 is really there, read from the survivor
        response = requests.get(f"{b.url}/api/v1/submissions/{submission}",
                                headers=_auth(token), timeout=60)
        assert response.status_code == 200
    # The survivors carry on: a new submission on B, processed by the remaining worker.
    after = _submit(b.url, witnesses[0], 7777)
    assert after.status_code == 201
    # Every file is processed, the one the killed worker was running included: RQ presumes
    # it dead once its heartbeat expires (~90 s) and the surviving worker runs it again.
    counts = _wait_processed(app, timeout=300)
    assert counts.get(ProcessingStatus.DONE, 0) == _files(app), counts
    # Nothing half-stored stays: blobs of cut requests have no row and go to quarantine.
    swept = cluster.flask("custody", "sweep", "--orphan-grace", "0")
    assert swept.returncode == 0, swept.stdout + swept.stderr


def _worker_running_a_job(cluster: Cluster, redis: Redis, timeout: float
                          ) -> tuple[Proc, str, str]:
    """The first of our live workers that RQ says is running a job right now: the process,
    RQ's name for the worker, and the job's id."""
    ours = {proc.popen.pid: proc for proc in cluster.workers if proc.alive}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in Worker.all(connection=redis):
            job_id = worker.get_current_job_id()
            if worker.pid in ours and job_id:
                return ours[worker.pid], worker.name, job_id
        time.sleep(0.05)
    pytest.fail("no worker started the job")


def test_a_job_whose_worker_is_killed_while_it_runs_is_run_again(
        cluster: Cluster, app: Flask, witnesses: list[str]) -> None:
    while len([w for w in cluster.workers if w.alive]) < 2:  # the kill test above left one
        cluster.start_worker()
    server = next(web for web in cluster.web if web.alive)
    redis = Redis.from_url(cluster.env["REDIS_URL"])
    clip = video("mp4", seconds=12, size=(640, 480))
    response = _submit(server.url, witnesses[1], 8888, file=("clip.mp4", clip, "video/mp4"))
    assert response.status_code == 201, response.text
    victim, victim_name, job_id = _worker_running_a_job(cluster, redis, timeout=120)
    victim.kill()  # the worker and its work horse: the host is gone
    # RQ presumes the job dead once its heartbeat expires (~90 s); the survivor runs it.
    counts = _wait_processed(app, timeout=300)
    assert counts.get(ProcessingStatus.DONE, 0) == _files(app), counts
    job = Job.fetch(job_id, connection=redis)
    assert job.get_status() == JobStatus.FINISHED
    assert job.worker_name  # finished by a worker ...
    assert job.worker_name != victim_name  # ... not the one killed: run again, by another


def test_custody_verify_blobs_is_clean_at_the_end(cluster: Cluster) -> None:
    result = cluster.flask("custody", "verify", "--blobs", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


# Last: the 60 s delay it trips on "cluster-target" must not slow another test.
def test_login_attempts_on_both_servers_count_against_one_limit(
        cluster: Cluster, app: Flask) -> None:
    gen_user(Role.CONTRIBUTOR, pseudonym="cluster-target")
    # Two live servers: the kill test above left one dead, so a fresh one replaces it.
    servers = [web for web in cluster.web if web.alive]
    while len(servers) < 2:
        servers.append(cluster.start_web())
    statuses = []
    for i in range(8):  # login_free_attempts: 5 per account, then a delay (60 s here)
        server = servers[i % 2]
        response = requests.post(server.url + "/api/v1/auth/token", timeout=60, json={
            "pseudonym": "cluster-target", "passphrase": "wrong " + PASSPHRASE})
        statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429, 429, 429]  # refused on both servers: one shared counter
