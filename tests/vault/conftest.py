"""Fixtures for the sealed vault: key directories with k-of-n shares, a real agent socket.

Most tests use the vault in-process (settings: vault_agent = "inprocess", the same
`protocol.dispatch`); the ones about the socket, peer credentials and SIGKILL run a real
agent, in a thread (cheap) or as its own process (`python -m storage.agent`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.agent.core import Vault
from storage.agent.server import AgentServer
from tests.keys import init_keys, shares_of
from tests.review.fixtures import queued, reviewer, submit, witness

__all__ = ["queued", "reviewer", "submit", "witness"]

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    path = tmp_path / "keys"
    init_keys(path, shares=3, threshold=2)
    return path


@pytest.fixture
def shares(key_dir: Path) -> list[str]:
    return shares_of(key_dir)


@pytest.fixture
def short_socket_dir() -> Iterator[Path]:
    # AF_UNIX paths are limited to 108 bytes; pytest's tmp paths can be longer.
    path = Path(f"/tmp/i12-agent-{os.getpid()}-{time.monotonic_ns()}")
    path.mkdir(mode=0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class ThreadAgent:
    server: AgentServer
    socket_path: Path
    vault: Vault


@pytest.fixture
def thread_agent(key_dir: Path, short_socket_dir: Path) -> Iterator[ThreadAgent]:
    """A real socket server in a thread of this process (uid checks included)."""
    vault = Vault(key_dir)
    path = short_socket_dir / "run" / "agent.sock"
    server = AgentServer(path, vault, allowed_uids={os.getuid()})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield ThreadAgent(server, path, vault)
    server.shutdown()
    server.server_close()
    thread.join(5)


def start_agent_process(key_dir: Path, socket_path: Path) -> subprocess.Popen[bytes]:
    """`python -m storage.agent` as its own process; returns once its socket answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "storage.agent", "--key-dir", str(key_dir), "--socket",
         str(socket_path)], cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    # The socket file alone is not enough: a killed agent leaves its file behind, so wait
    # until this agent accepts a connection.
    while not _accepts(socket_path):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"agent did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.05)
    return process


def _accepts(socket_path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(socket_path))
        except OSError:
            return False
    return True


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
