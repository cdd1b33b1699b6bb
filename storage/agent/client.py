"""The web and worker side of the key agent: a ``KeyProvider`` holding only public keys.

Sealing a data key uses the vault public key read from the key directory, so intake works
while the vault is sealed or the agent is down. Opening one asks the agent: over the UNIX
socket (``SocketTransport``) or, in tests, a ``Vault`` in the same process
(``LocalTransport``, the same ``protocol.dispatch``). No private key ever reaches this side.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage.agent import protocol
from storage.agent.core import Vault
from storage.crypto import key_directory as kd
from storage.crypto.keys import PublicKeyRing, SigningKey
from storage.errors import AgentRefused, VaultSealed

log = logging.getLogger(__name__)

Transport = Callable[[dict[str, Any]], dict[str, Any]]

AGENT_DOWN = "the key agent is not running: the vault is sealed"


class SocketTransport:
    """One persistent connection per thread; a dead agent reads as a sealed vault."""

    def __init__(self, socket_path: Path, timeout: float = 30.0) -> None:
        self.socket_path = Path(socket_path)
        self.timeout = timeout
        self._local = threading.local()

    def _connect(self) -> tuple[socket.socket, Any]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.socket_path))
        except (FileNotFoundError, ConnectionRefusedError, PermissionError) as e:
            sock.close()
            if isinstance(e, PermissionError):
                raise AgentRefused("this process may not use the key agent's socket") from e
            raise VaultSealed(AGENT_DOWN) from e
        return sock, sock.makefile("rb")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn[1].close()
            conn[0].close()

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        # A connection cached from before an agent restart fails once: retry on a new one.
        for attempt in (0, 1):
            conn = getattr(self._local, "conn", None)
            fresh = conn is None
            if conn is None:
                conn = self._local.conn = self._connect()
            try:
                conn[0].sendall(protocol.encode(request))
                line = conn[1].readline(protocol.MAX_LINE + 1)
            except OSError as e:
                self.close()
                if fresh or attempt:
                    raise VaultSealed(AGENT_DOWN) from e
                continue
            if not line:
                self.close()
                if fresh or attempt:
                    raise VaultSealed(AGENT_DOWN)
                continue
            return protocol.decode(line)
        raise VaultSealed(AGENT_DOWN)


class LocalTransport:
    """The agent's dispatch in this process: for tests and single-process tools only."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        return protocol.dispatch(self.vault, request)


class AgentProvider:
    """The KeyProvider web and worker processes use (see ``storage.crypto.keys``)."""

    def __init__(self, key_dir: Path, transport: Transport) -> None:
        self.key_dir = Path(key_dir)
        self.transport = transport
        self._lock = threading.Lock()
        self._stamp = (self.key_dir / kd.MANIFEST).read_bytes()
        self._ring = kd.load_public_ring(self.key_dir)

    def __repr__(self) -> str:
        return f"<AgentProvider {self._ring!r}>"

    def refresh(self) -> PublicKeyRing:
        """The public ring, reloaded if another process rotated or retired a key."""
        try:
            stamp = (self.key_dir / kd.MANIFEST).read_bytes()
        except FileNotFoundError:
            return self._ring
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._ring, self._stamp = kd.load_public_ring(self.key_dir), stamp
                    log.info("vault public keys reloaded; active key %s",
                             self._ring.active_key_id())
        return self._ring

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        return protocol.raise_for(self.transport({"v": protocol.VERSION, "op": op, **fields}))

    # --- KeyProvider ----------------------------------------------------------------------

    def active_key_id(self) -> str:
        return self.refresh().active_key_id()

    def key_ids(self) -> list[str]:
        return sorted(self.refresh().public_keys)

    def seal_data_key(self, data_key: bytes, blob_id: str) -> tuple[str, bytes]:
        return self.refresh().seal_data_key(data_key, blob_id)

    def unseal_data_key(self, key_id: str, sealed: bytes, blob_id: str) -> bytes:
        reply = self.call("open", key_id=key_id, sealed=protocol.b64(sealed), blob_id=blob_id)
        return protocol.unb64(reply.get("data_key"), "data_key")

    def signing_key(self) -> SigningKey:
        return self.refresh().signing_key()

    def signing_public_key_pem(self) -> bytes:
        return self.refresh().signing_public_key_pem()

    # --- the vault's state ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The agent's status, or a sealed one with ``agent: false`` when it is not running."""
        try:
            return {**self.call("status"), "agent": True}
        except VaultSealed:
            unseal = kd.unseal_method(self.key_dir)
            return {"sealed": True, "agent": False, "method": unseal.get("method"),
                    "threshold": int(unseal.get("threshold", 1)),
                    "shares": int(unseal.get("shares", 1)), "pending": 0,
                    "pending_expires_in": None, "key_ids": [], "opened": 0}

    def is_sealed(self) -> bool:
        return bool(self.status()["sealed"])

    def add_share(self, share: str) -> dict[str, Any]:
        return self.call("share", share=share)

    def unseal_with_passphrase(self, passphrase: str) -> dict[str, Any]:
        return self.call("passphrase", passphrase=passphrase)

    def seal(self) -> dict[str, Any]:
        return self.call("seal")

    def rotate(self) -> str:
        key_id = str(self.call("rotate")["key_id"])
        self.refresh()
        return key_id
