"""A real cluster: PostgreSQL, S3 (a moto_server process), Redis, two gunicorn web servers on
different ports sharing one configuration, two RQ workers. Started once for the module.

Run by ``make test-cluster`` (``scripts/test-cluster.sh``), which provides a fresh database
and Redis database; skipped in the ordinary suite. Against real hosts, see
docs/deployment.md, "Testing a cluster".
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests

from tests.servers import die_with_parent

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("INCIDENTS_CLUSTER_TEST") == "1" and DATABASE_URL and REDIS_URL:
        return
    skip = pytest.mark.skip(reason="the cluster test runs with `make test-cluster`")
    for item in items:
        if "tests/cluster/" in str(item.fspath):
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """The children of `pid`, their children, and so on (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += [int(child), *descendants(int(child))]
    return found


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    url: str = ""

    def kill(self) -> None:
        """SIGKILL the process and every descendant, as `systemctl kill -s KILL` kills a
        unit's cgroup: a crash or a lost host, no cleanup. (A process group is not enough:
        RQ's work horse puts itself in a group of its own.)"""
        if self.popen.poll() is None:
            victims = [self.popen.pid, *descendants(self.popen.pid)]
            os.killpg(self.popen.pid, signal.SIGKILL)
            for pid in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.popen.wait(10)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Cluster:
    env: dict[str, str]
    instance: Path
    web: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    others: list[Proc] = field(default_factory=list)

    def flask(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 (fixed arguments)
            [str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=timeout, check=False)

    def start(self, name: str, argv: list[str], log: Path) -> Proc:
        handle = log.open("wb")
        proc = subprocess.Popen(  # noqa: S603 (fixed arguments)
            argv, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent)
        return Proc(name, proc)

    def start_web(self, port: int | None = None) -> Proc:
        port = port or free_port()
        proc = self.start(f"web:{port}", [
            str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--threads", "4", "--timeout", "120", "--access-logfile", "/dev/null", "wsgi:app",
        ], self.instance.parent / f"web-{port}.log")
        proc.url = f"http://127.0.0.1:{port}"
        wait_http(proc, proc.url + "/api/v1/uploads/")
        self.web.append(proc)
        return proc

    def start_worker(self) -> Proc:
        n = len(self.workers) + 1
        proc = self.start(f"worker-{n}", [str(BIN / "flask"), "--app", "wsgi", "worker"],
                          self.instance.parent / f"worker-{n}.log")
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in [*self.web, *self.workers, *self.others]:
            proc.kill()


def wait_http(proc: Proc, url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.options(url, timeout=3).status_code < 500:
                return
        except requests.RequestException:
            pass
        if not proc.alive or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} did not start")
        time.sleep(0.3)


def _moto(tmp: Path) -> tuple[Proc, str]:
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    popen = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=(tmp / "moto.log").open("wb"), stderr=subprocess.STDOUT, env=env,
        start_new_session=True, preexec_fn=die_with_parent)
    proc = Proc("moto", popen, f"http://127.0.0.1:{port}")
    wait_http(proc, proc.url)
    return proc, proc.url


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # Not under pytest's basetemp, which other runs on the machine rotate away: the logs
    # of every process stay here for a post-mortem (the path is printed).
    tmp = Path(tempfile.mkdtemp(prefix="incidents-cluster-"))
    print(f"\ncluster logs: {tmp}")  # noqa: T201
    moto, endpoint = _moto(tmp)
    bucket = f"evidence-{secrets.token_hex(4)}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    instance = tmp / "instance"
    env = {
        **os.environ,
        # One configuration for every process (on real hosts: the same file everywhere).
        "INCIDENTS_INSTANCE": str(instance),
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "INCIDENTS_STORAGE_BACKEND": "s3",
        "INCIDENTS_S3_ENDPOINT_URL": endpoint,
        "INCIDENTS_S3_BUCKET": bucket,
        "INCIDENTS_S3_ACCESS_KEY": "testing",
        "INCIDENTS_S3_SECRET_KEY": "testing",
        "INCIDENTS_SECURE_COOKIES": "false",
        "SECRET_KEY": "cluster-test-" + secrets.token_hex(16),
        "INCIDENTS_UPLOAD_LEASE_SECONDS": "3",
        # The credential throttle's first delay, long enough that the login test's requests
        # cannot outrun it on a loaded machine (the default is 1 s, doubling). That test
        # runs last, so the delay it trips slows no other test's sign-in.
        "INCIDENTS_LOGIN_DELAY_BASE_SECONDS": "60",
        # The surviving worker re-queues the killed one's job soon after RQ presumes it dead.
        "INCIDENTS_JOB_REAPER_SECONDS": "5",
    }
    c = Cluster(env=env, instance=instance, others=[moto])
    try:
        # The key agent first (as `make run` and the service files do): `init` hands it the
        # new vault's recovery share, so the cluster starts unsealed.
        c.others.append(c.start("vault-agent", [str(BIN / "flask"), "--app", "wsgi", "vault",
                                                "agent"], tmp / "vault-agent.log"))
        assert c.flask("vault", "wait", "--timeout", "60").returncode == 0
        result = c.flask("init")
        assert result.returncode == 0, result.stderr
        assert "The vault is unsealed" in result.stdout, result.stdout
        c.start_web()
        c.start_web()
        c.start_worker()
        c.start_worker()
        yield c
    finally:
        c.stop()
