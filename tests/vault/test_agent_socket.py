"""The agent's UNIX socket: only the service user, a crashing caller harms no one, a dead
agent reads as sealed. Runs a real server (thread or process) and real client processes."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import stat
import time
from pathlib import Path

import pytest

from storage.agent import protocol
from storage.agent.client import AgentProvider, SocketTransport
from storage.backends import LocalBackend
from storage.blobstore import BlobRef, BlobStore
from storage.crypto.key_directory import retire_vault_key
from storage.crypto.keys import reseal
from storage.errors import VaultSealed
from tests.vault.conftest import ThreadAgent, start_agent_process, stop

NOBODY = 65534
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a child as another "
                               "uid (os.setuid); run the suite as root to include it")


def _try_as_other_user(path: Path) -> str:
    """Fork; in the child become `nobody` and ask the agent for its status; say what happened."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read)
        outcome = "unexpected"
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(str(path))
            with contextlib.suppress(BrokenPipeError):  # it may have answered and hung up
                sock.sendall(protocol.encode({"v": 1, "op": "status"}))
            reply = sock.makefile("rb").readline()
            outcome = "answered: " + reply.decode("ascii", "replace").strip()
        except PermissionError:
            outcome = "permission denied"
        except OSError as e:
            outcome = f"os error {type(e).__name__}"
        finally:
            os.write(write, outcome.encode())
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as f:
        return f.read().decode()


def test_the_socket_and_its_folder_are_the_service_users_only(thread_agent: ThreadAgent) -> None:
    assert stat.S_IMODE(os.stat(thread_agent.socket_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(thread_agent.socket_path.parent).st_mode) == 0o700


@root_only
def test_another_user_cannot_even_connect(thread_agent: ThreadAgent) -> None:
    assert _try_as_other_user(thread_agent.socket_path) == "permission denied"


@root_only
def test_another_user_is_refused_by_peer_credentials_even_if_the_socket_is_opened_up(
        thread_agent: ThreadAgent, shares: list[str]) -> None:
    thread_agent.vault.add_share(shares[0])
    thread_agent.vault.add_share(shares[1])
    # A mistake in deployment: folder and socket made world-accessible.
    os.chmod(thread_agent.socket_path.parent.parent, 0o755)
    os.chmod(thread_agent.socket_path.parent, 0o777)
    os.chmod(thread_agent.socket_path, 0o777)
    outcome = _try_as_other_user(thread_agent.socket_path)
    assert outcome.startswith("answered: ")
    assert '"error":"refused"' in outcome
    assert "sealed" not in outcome  # it learnt nothing, not even the state


def test_a_caller_killed_mid_request_does_not_stop_the_agent(thread_agent: ThreadAgent,
                                                              key_dir: Path) -> None:
    pid = os.fork()
    if pid == 0:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(thread_agent.socket_path))
        sock.sendall(b'{"v":1,"op":"open","key_id":"ab')  # half a request
        time.sleep(30)
        os._exit(0)
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    provider = AgentProvider(key_dir, SocketTransport(thread_agent.socket_path))
    assert provider.status()["agent"] is True


def test_through_a_real_agent_process_and_sigkill_seals(key_dir: Path, shares: list[str],
                                                       short_socket_dir: Path,
                                                       tmp_path: Path) -> None:
    path = short_socket_dir / "agent.sock"
    process = start_agent_process(key_dir, path)
    try:
        provider = AgentProvider(key_dir, SocketTransport(path))
        store = BlobStore(LocalBackend(tmp_path / "blobs"), provider)
        blob = store.put(io.BytesIO(b"read through the agent"))
        with pytest.raises(VaultSealed):
            store.open(blob)
        provider.add_share(shares[0])
        provider.add_share(shares[1])
        with store.open(blob) as reader:
            assert reader.read() == b"read through the agent"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        with pytest.raises(VaultSealed):
            store.open(blob)
        assert provider.status() | {"agent": False} == provider.status()
        store.put(io.BytesIO(b"intake goes on"))  # sealing needs only the public key
        # A new agent starts sealed, even though the old one was unsealed when it died.
        process = start_agent_process(key_dir, path)
        assert provider.status()["sealed"] is True
        with pytest.raises(VaultSealed):
            store.open(blob)
    finally:
        stop(process)


def test_rotation_and_retirement_go_through_a_real_agent(key_dir: Path, shares: list[str],
                                                         short_socket_dir: Path,
                                                         tmp_path: Path) -> None:
    path = short_socket_dir / "agent.sock"
    process = start_agent_process(key_dir, path)
    try:
        provider = AgentProvider(key_dir, SocketTransport(path))
        store = BlobStore(LocalBackend(tmp_path / "blobs"), provider)
        old = store.put(io.BytesIO(b"sealed to the first key"))
        provider.add_share(shares[0])
        provider.add_share(shares[1])
        new_id = provider.rotate()
        assert new_id != old.key_id
        assert provider.active_key_id() == new_id  # this process follows the manifest
        key_id, sealed = reseal(provider, old.key_id, old.sealed_key, old.blob_id)
        assert key_id == new_id
        retire_vault_key(key_dir, old.key_id)
        with store.open(BlobRef(old.blob_id, key_id, sealed)) as reader:
            assert reader.read() == b"sealed to the first key"
        assert provider.status()["key_ids"] == [new_id]
    finally:
        stop(process)
