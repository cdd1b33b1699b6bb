"""A live instance of separate processes (key agent, web server), as deployed: a SIGKILL of
the agent seals it (reads 503, intake goes on) until it is unsealed again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import POSTGRES_URL
from tests.review.fixtures import PHOTO, Actor, items_of
from tests.submissions.helpers import gen_metadata
from tests.vault.conftest import PROJECT, start_agent_process, stop

SERVER = """
import sys
from incidents.app import create_app
app = create_app()
app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True, use_reloader=False)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unseal_over_socket(key_dir: Path, sock: Path, share: str) -> None:
    """What `vault unseal` does, from a separate process."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from storage.agent.client import AgentProvider, "
         "SocketTransport; p = AgentProvider(sys.argv[1], SocketTransport(sys.argv[2])); "
         "print(p.add_share(sys.argv[3]))", str(key_dir), str(sock), share],
        cwd=PROJECT, capture_output=True, text=True, check=True)
    assert "'sealed': False" in done.stdout


@dataclass
class Live:
    base: str
    server: subprocess.Popen[bytes]
    agent: subprocess.Popen[bytes]
    sock: Path
    key_dir: Path


@pytest.fixture
def live(settings) -> Iterator[Live]:
    """The test instance served by its own web process, with its own agent process."""
    sock = Path(f"/tmp/i12-live-{os.getpid()}-{time.monotonic_ns()}") / "agent.sock"
    agent = start_agent_process(settings.key_dir, sock)
    port = _free_port()
    env = dict(os.environ, INCIDENTS_INSTANCE=str(settings.instance_path),
               INCIDENTS_VAULT_SOCKET=str(sock), INCIDENTS_SECURE_COOKIES="false",
               DATABASE_URL=POSTGRES_URL)
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=PROJECT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(base + "/", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    live = Live(base, server, agent, sock, settings.key_dir)
    yield live
    server.terminate()
    server.wait(10)
    stop(live.agent)
    shutil.rmtree(sock.parent, ignore_errors=True)


def test_sigkill_of_the_agent_seals_the_live_instance(app, client, submit, reviewer: Actor,
                                                      witness: Actor, recovery_share,
                                                      live: Live) -> None:
    items = items_of(client, reviewer.token, submit())
    reviewer_auth = {"Authorization": f"Bearer {reviewer.token}"}
    original = f"{live.base}/api/v1/evidence/{items[-1]['id']}/original"
    assert requests.get(original, headers=reviewer_auth, timeout=30).status_code == 503
    unseal_over_socket(live.key_dir, live.sock, recovery_share)
    assert requests.get(original, headers=reviewer_auth, timeout=30).status_code == 200

    live.agent.send_signal(signal.SIGKILL)
    live.agent.wait(10)
    sealed = requests.get(original, headers=reviewer_auth, timeout=30)
    assert sealed.status_code == 503
    assert sealed.json()["error"] == "vault_sealed"
    intake = requests.post(f"{live.base}/api/v1/submissions", timeout=60,
                           headers={"Authorization": f"Bearer {witness.token}"},
                           files={"metadata": (None, json.dumps(gen_metadata())),
                                  "files": (PHOTO.name, PHOTO.read_bytes(), "image/jpeg")})
    assert intake.status_code == 201, intake.text

    # A restarted agent is sealed until unsealed again.
    live.agent = start_agent_process(live.key_dir, live.sock)
    assert requests.get(original, headers=reviewer_auth, timeout=30).status_code == 503
    unseal_over_socket(live.key_dir, live.sock, recovery_share)
    assert requests.get(original, headers=reviewer_auth, timeout=30).status_code == 200
