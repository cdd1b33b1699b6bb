"""The real server, started as `make run` starts it, for attacks with raw sockets.

`live_server` runs gunicorn with the project's gunicorn.conf.py on a free loopback port,
over a copy of the test instance (SQLite, or the PostgreSQL/Redis of the run). Everything
it writes (stdout and stderr: gunicorn's error log and the application's log) goes to files
that `LiveServer.log_text()` reads, for the tests that grep them. Attackers connect from
127.0.0.2, so that their address is told apart from the server's own 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask

from incidents.app import create_app
from incidents.core.settings import Settings
from incidents.web.db import get_db
from tests.conftest import POSTGRES_URL, REDIS_URL, _flush_rate_limits, _truncate
from tests.helpers import CHEAP_ARGON2, PASSPHRASE
from tests.servers import die_with_parent

PROJECT = Path(__file__).resolve().parents[2]
ATTACKER = "127.0.0.2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    port: int
    process: subprocess.Popen[bytes]
    log_dir: Path
    app: Flask

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self, timeout: float = 10.0) -> socket.socket:
        """A raw connection from the attacker's address."""
        sock = socket.socket()
        sock.settimeout(timeout)
        sock.bind((ATTACKER, 0))
        sock.connect(("127.0.0.1", self.port))
        return sock

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*")))

    def assert_log_clean(self, *secrets: str) -> None:
        """Nothing the attacker sent, and not their address, is in anything written."""
        text = self.log_text()
        assert ATTACKER not in text
        for secret in secrets:
            assert secret not in text, f"{secret!r} reached the server's log"

    def sign_in(self, pseudonym: str, passphrase: str = PASSPHRASE) -> requests.Session:
        browser = requests.Session()
        page = browser.get(f"{self.url}/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        answer = browser.post(f"{self.url}/login", timeout=10, allow_redirects=False,
                              data={"csrf_token": token.group(1), "pseudonym": pseudonym,
                                    "passphrase": passphrase})
        assert answer.status_code == 302, answer.status_code
        return browser


def _environment(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INCIDENTS_", "GUNICORN"))}
    env.update({
        "INCIDENTS_INSTANCE": str(instance),
        "INCIDENTS_SECURE_COOKIES": "false",  # plain HTTP on loopback, as `make run`
        "DATABASE_URL": POSTGRES_URL,
        "REDIS_URL": REDIS_URL,
        "GUNICORN_LOG_LEVEL": "DEBUG",  # the most gunicorn can write: all of it is checked
        "INCIDENTS_LOGIN_DELAY_BASE_SECONDS": "60",
        **{f"INCIDENTS_{k.upper()}": str(v) for k, v in CHEAP_ARGON2.items()},
    })
    return env


@contextlib.contextmanager
def running_server(tmp_path_factory: pytest.TempPathFactory, template_instance: Path,
                   **environment: str) -> Iterator[LiveServer]:
    """gunicorn as `make run` starts it, with `environment` added to its environment."""
    root = tmp_path_factory.mktemp("live")
    instance = root / "instance"
    shutil.copytree(template_instance, instance)
    os.chmod(instance / "keys", 0o700)
    log_dir = root / "logs"
    log_dir.mkdir()
    port = free_port()
    env = {**_environment(instance), **environment}
    with (log_dir / "stdout").open("wb") as out, (log_dir / "stderr").open("wb") as err:
        process = subprocess.Popen(
            [str(PROJECT / ".venv/bin/gunicorn"), "--config", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=PROJECT, env=env, stdout=out, stderr=err, preexec_fn=die_with_parent)
    settings = Settings.load(instance_path=instance, environ={}, testing=True,
                             secure_cookies=False, database_url=POSTGRES_URL,
                             redis_url=REDIS_URL, **CHEAP_ARGON2)
    app = create_app(settings)
    context = app.app_context()
    context.push()
    server = LiveServer(port, process, log_dir, app)
    try:
        _wait_until_up(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        database = get_db()
        database.session.remove()
        if POSTGRES_URL:
            _truncate(database.engine)
        database.engine.dispose()
        if REDIS_URL:
            _flush_rate_limits(app)
        context.pop()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory,
                template_instance: Path) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory, template_instance) as server:
        yield server


def _wait_until_up(server: LiveServer) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + server.log_text()[-3000:])
        try:
            if requests.get(server.url + "/", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer:\n" + server.log_text()[-3000:])
