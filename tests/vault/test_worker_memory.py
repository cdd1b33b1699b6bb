"""A web worker's memory holds no vault private key after serving originals.

Runs the agent and a web server as their own processes on a test instance, serves originals
through them, then reads the server's memory (/proc/<pid>/maps and /proc/<pid>/mem, which
needs root) for the vault private key bytes. As a control, the same scan of the agent's
memory must find them: a scanner that finds nothing anywhere proves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from storage.crypto import key_directory as kd
from tests.conftest import POSTGRES_URL
from tests.keys import unseal_key_of
from tests.review.fixtures import Actor, items_of
from tests.vault.conftest import PROJECT, start_agent_process, stop

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="reading another process's memory (/proc/<pid>/mem) needs "
    "root; run the suite as root to include this test")

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


def _memory(pid: int) -> bytes:
    """Every readable private or anonymous mapping of process `pid`."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            path = fields[5] if len(fields) > 5 else ""
            if "r" not in fields[1] or path.startswith(("/usr", "/root/.pyenv")) or \
                    path in {"[vvar]", "[vsyscall]"}:
                continue
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except (OSError, ValueError, OverflowError):
                continue
    return b"".join(chunks)


def test_a_web_worker_never_holds_the_vault_private_key(app, client, settings, submit,
                                                       reviewer: Actor, recovery_share,
                                                       tmp_path) -> None:
    submission = submit()
    items = items_of(client, reviewer.token, submission)
    unseal_key = unseal_key_of(settings.key_dir, shares=[recovery_share])
    key_id = kd.read_manifest(settings.key_dir)["active"]
    file = kd.vault_file(settings.key_dir, key_id)
    secret = kd.unwrap(unseal_key, kd.VAULT_WRAP_AAD, key_id,
                       json.loads(file.read_text())["wrapped_private_key"], file)
    needles = {"X25519 private key": secret[64:], "ML-KEM seed": secret[:64],
               "unseal key": unseal_key}
    sock = Path(f"/tmp/i12-mem-{os.getpid()}") / "agent.sock"
    agent = start_agent_process(settings.key_dir, sock)
    port = _free_port()
    env = dict(os.environ, INCIDENTS_INSTANCE=str(settings.instance_path),
               INCIDENTS_VAULT_SOCKET=str(sock), INCIDENTS_SECURE_COOKIES="false",
               DATABASE_URL=POSTGRES_URL)
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=PROJECT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                requests.get(base + "/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {reviewer.token}"}
        original = f"{base}/api/v1/evidence/{items[1]['id']}/original"
        assert requests.get(original, headers=headers, timeout=10).status_code == 503
        unsealed = subprocess.run(
            [sys.executable, "-c", "import sys; from storage.agent.client import "
             "AgentProvider, SocketTransport; p = AgentProvider(sys.argv[1], "
             "SocketTransport(sys.argv[2])); print(p.add_share(sys.argv[3]))",
             str(settings.key_dir), str(sock), recovery_share], cwd=PROJECT,
            capture_output=True, text=True, check=True)
        assert "'sealed': False" in unsealed.stdout
        for item in items:
            for _ in range(3):
                response = requests.get(f"{base}/api/v1/evidence/{item['id']}/original",
                                        headers=headers, timeout=30)
                assert response.status_code == 200
        worker = _memory(server.pid)
        assert len(worker) > 10 * 1024 * 1024
        for name, needle in needles.items():
            assert needle not in worker, f"the web worker holds the {name}"
        # Control: the agent does hold the private key, so the scan can find it.
        held = _memory(agent.pid)
        assert secret[64:] in held, "the scanner cannot find the key even in the agent"
    finally:
        server.terminate()
        server.wait(10)
        stop(agent)
        shutil.rmtree(sock.parent, ignore_errors=True)
