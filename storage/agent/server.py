"""The key agent's UNIX socket server: one thread per connection, every caller's uid checked.

The socket lives in a directory of mode 0700 and is itself 0600, so only the service user can
connect; on top of that each connection's peer credentials (SO_PEERCRED: pid, uid, gid, from
the kernel, not from the caller) must name an allowed uid, so a socket made reachable by
mistake still answers no one else. A caller that crashes mid-request only ends its own thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import socketserver
import stat
import struct
import threading
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from storage.agent import protocol
from storage.agent.core import Vault
from storage.errors import AgentRefused

log = logging.getLogger(__name__)

_UCRED = struct.Struct("3i")  # struct ucred {pid_t pid; uid_t uid; gid_t gid;}


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a UNIX socket, from the kernel."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return pid, uid, gid


class _Handler(socketserver.StreamRequestHandler):
    server: AgentServer

    def handle(self) -> None:
        while True:
            try:
                line = self.rfile.readline(protocol.MAX_LINE + 1)
            except (ConnectionError, OSError):
                return
            if not line:
                return
            if len(line) > protocol.MAX_LINE or not line.endswith(b"\n"):
                self._send({"ok": False, "error": "refused", "message": "message too long"})
                return
            try:
                request = protocol.decode(line)
            except AgentRefused as e:
                self._send(protocol.error_reply(e))
                return
            if not self._send(protocol.dispatch(self.server.vault, request)):
                return

    def _send(self, reply: dict[str, Any]) -> bool:
        try:
            self.wfile.write(protocol.encode(reply))
            self.wfile.flush()
        except (ConnectionError, OSError):
            return False
        return True


class AgentServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, socket_path: Path, vault: Vault, allowed_uids: Iterable[int]) -> None:
        self.vault = vault
        self.allowed_uids = frozenset(allowed_uids)
        self.socket_path = Path(socket_path)
        _prepare(self.socket_path)
        old = os.umask(0o177)  # the socket file is created 0600, never briefly wider
        try:
            super().__init__(str(self.socket_path), _Handler)
        finally:
            os.umask(old)

    def server_bind(self) -> None:
        # Bind under a temporary name and rename once listening (server_activate): a caller
        # that sees the socket file can connect, never "connection refused" in between.
        self._binding = self.socket_path.with_name(f".{self.socket_path.name}.binding")
        self._binding.unlink(missing_ok=True)
        self.socket.bind(str(self._binding))
        self.server_address = str(self.socket_path)

    def server_activate(self) -> None:
        super().server_activate()
        os.chmod(self._binding, 0o600)
        os.replace(self._binding, self.socket_path)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        pid, uid, _ = peer_credentials(request)
        if uid not in self.allowed_uids:
            log.warning("key agent refused a caller with uid %d (pid %d)", uid, pid)
            with contextlib.suppress(OSError):
                request.sendall(protocol.encode(
                    {"ok": False, "error": "refused", "message": "unknown caller"}))
            return False
        return True

    def server_close(self) -> None:
        super().server_close()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()


def _prepare(socket_path: Path) -> None:
    """A private directory for the socket; a stale socket left by a killed agent goes."""
    folder = socket_path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    try:
        st = os.lstat(socket_path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise RuntimeError(f"{socket_path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(socket_path))
    except (ConnectionRefusedError, FileNotFoundError):
        socket_path.unlink(missing_ok=True)
        return
    finally:
        probe.close()
    raise RuntimeError(f"a key agent is already listening on {socket_path}")


def serve_forever(server: AgentServer, ready: threading.Event | None = None) -> None:
    """Serve until SIGTERM or SIGINT; seal on the way out."""

    def _stop(signum: int, frame: FrameType | None) -> None:
        del frame
        log.info("key agent stopping (signal %d)", signum)
        server.vault.seal()
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    if ready is not None:
        ready.set()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.vault.seal()
        server.server_close()
