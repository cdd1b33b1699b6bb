"""Real server processes for tests: gunicorn serving ``wsgi:app`` on a test instance."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from incidents.core.settings import Settings

GUNICORN = Path(sys.executable).parent / "gunicorn"
ROOT = Path(__file__).resolve().parents[1]
# Loaded here, in the parent: the child between fork and exec must not import anything.
_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """`preexec_fn` of a server the tests start in a session of its own: the kernel kills it
    when the test process dies, so a pytest killed by a timeout leaves no server behind
    (its own children follow: gunicorn workers exit when their master goes)."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gunicorn:
    """``gunicorn wsgi:app`` on the test's instance folder and database."""

    def __init__(self, settings: Settings, database_url: str | None = None,
                 redis_url: str | None = None, *, port: int | None = None,
                 lease_seconds: int = 2) -> None:
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "INCIDENTS_INSTANCE": str(settings.instance_path),
               "INCIDENTS_SECURE_COOKIES": "false",
               "INCIDENTS_UPLOAD_LEASE_SECONDS": str(lease_seconds)}
        if database_url:
            env["DATABASE_URL"] = database_url
        if redis_url:
            env["REDIS_URL"] = redis_url
        self.proc = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [str(GUNICORN), "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
             "--threads", "4", "--timeout", "120", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.options(self.url + "/api/v1/uploads/", timeout=2).status_code == 204:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the whole process group (master and worker): no cleanup runs."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
