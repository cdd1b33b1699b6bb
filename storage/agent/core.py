"""The vault's state in the key agent: sealed, collecting shares, or unsealed.

Shares given towards an unseal wait in memory for at most ``share_ttl`` seconds each (an
unfinished unseal must not leave a trustee's share lying in a long-lived process). Sealing
drops the ring, the unseal key and every pending share. Python cannot promise that freed
memory is overwritten; the bytearrays we own are zeroed, the rest is released to the allocator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.crypto import key_directory as kd
from storage.crypto import vault_shares
from storage.crypto.keys import VaultKeyRing
from storage.errors import KeyStoreError, KeyUnavailable, VaultSealed, WrongShares

log = logging.getLogger(__name__)

DEFAULT_SHARE_TTL = 600.0


@dataclass
class _Pending:
    mnemonic: str
    member_index: int
    given_at: float


class Vault:
    """Sealed until given enough shares (or the passphrase); then opens data keys."""

    def __init__(self, key_dir: Path, *, share_ttl: float = DEFAULT_SHARE_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.key_dir = Path(key_dir)
        self.share_ttl = share_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._ring: VaultKeyRing | None = None
        # Rings from before a reload: a write in flight during a rotation sealed its data
        # key to a key that may be retired meanwhile (KeyRingHolder did the same before).
        self._older: list[VaultKeyRing] = []
        self._unseal_key: bytearray | None = None
        self._stamp = b""
        self._pending: list[_Pending] = []
        self.opened = 0

    # --- state ------------------------------------------------------------------------

    def _expire(self) -> None:
        cutoff = self._clock() - self.share_ttl
        self._pending = [p for p in self._pending if p.given_at > cutoff]

    def status(self) -> dict[str, Any]:
        with self._lock:
            self._expire()
            try:
                unseal = kd.unseal_method(self.key_dir)
            except KeyStoreError:
                unseal = {"method": "unknown"}
            oldest = min((p.given_at for p in self._pending), default=None)
            return {
                "sealed": self._ring is None,
                "method": unseal.get("method"),
                "threshold": int(unseal.get("threshold", 1)),
                "shares": int(unseal.get("shares", 1)),
                "pending": len(self._pending),
                "pending_expires_in": (None if oldest is None else
                                       max(0, round(oldest + self.share_ttl - self._clock()))),
                "key_ids": [] if self._ring is None else self._ring.key_ids(),
                "opened": self.opened,
            }

    @property
    def sealed(self) -> bool:
        return self._ring is None

    def _open(self, unseal_key: bytes) -> None:
        ring = kd.load_key_ring(self.key_dir, unseal_key)
        self._ring = ring
        self._unseal_key = bytearray(unseal_key)
        self._stamp = (self.key_dir / kd.MANIFEST).read_bytes()
        self._clear_pending()
        log.info("vault unsealed; vault keys %s", ", ".join(ring.key_ids()))

    def _clear_pending(self) -> None:
        for p in self._pending:
            p.mnemonic = ""
        self._pending = []

    def add_share(self, mnemonic: str) -> dict[str, Any]:
        """Take one trustee's share; unseal when the threshold is reached."""
        with self._lock:
            if self._ring is not None:
                return {"sealed": False, "pending": 0}
            self._expire()
            unseal = kd.unseal_method(self.key_dir)
            if unseal["method"] != "slip39":
                raise WrongShares("this vault is unsealed with a passphrase, not with shares")
            info = vault_shares.inspect(mnemonic, int(unseal["identifier"]))
            if any(p.member_index == info.member_index for p in self._pending):
                raise WrongShares("this share has already been given")
            self._pending.append(_Pending(vault_shares.normalise(mnemonic), info.member_index,
                                          self._clock()))
            if len(self._pending) < info.threshold:
                return {"sealed": True, "pending": len(self._pending),
                        "threshold": info.threshold}
            shares = [p.mnemonic for p in self._pending]
            try:
                key = kd.unseal_key_from_shares(self.key_dir, shares)
            except WrongShares:
                self._clear_pending()  # start again: one of them is wrong
                raise
            self._open(key)
            return {"sealed": False, "pending": 0, "threshold": info.threshold}

    def unseal_with_passphrase(self, passphrase: str) -> dict[str, Any]:
        with self._lock:
            if self._ring is None:
                self._open(kd.unseal_key_from_passphrase(self.key_dir, passphrase))
            return {"sealed": False, "pending": 0}

    def seal(self) -> dict[str, Any]:
        """Forget the private keys, the unseal key and any pending share, at once."""
        with self._lock:
            was_sealed = self._ring is None
            self._ring = None
            self._older = []
            if self._unseal_key is not None:
                self._unseal_key[:] = bytes(len(self._unseal_key))
            self._unseal_key = None
            self._clear_pending()
            if not was_sealed:
                log.info("vault sealed")
            return {"sealed": True, "was_sealed": was_sealed}

    # --- keys ---------------------------------------------------------------------------

    def _current_ring(self) -> VaultKeyRing:
        ring, key = self._ring, self._unseal_key
        if ring is None or key is None:
            raise VaultSealed("the vault is sealed")
        # Another process rotated or retired a key: follow the manifest (a few hundred bytes).
        stamp = (self.key_dir / kd.MANIFEST).read_bytes()
        if stamp != self._stamp:
            self._older.insert(0, ring)
            ring = kd.load_key_ring(self.key_dir, bytes(key))
            self._ring, self._stamp = ring, stamp
        return ring

    def open_data_key(self, key_id: str, sealed: bytes, blob_id: str) -> bytes:
        """The one data key of ``blob_id``; raises VaultSealed, KeyUnavailable, SealedKeyError."""
        with self._lock:
            ring = self._current_ring()
            rings = [ring, *self._older]
        ring = next((r for r in rings if key_id in r.key_ids()), ring)
        data_key = ring.unseal_data_key(key_id, sealed, blob_id)
        self.opened += 1
        return data_key

    def rotate(self) -> str:
        """A new active vault key, wrapped under the unseal key this process holds."""
        with self._lock:
            self._current_ring()
            assert self._unseal_key is not None
            key_id = kd.rotate_vault_key(self.key_dir, bytes(self._unseal_key))
            if self._ring is not None:
                self._older.insert(0, self._ring)
            self._ring = kd.load_key_ring(self.key_dir, bytes(self._unseal_key))
            self._stamp = (self.key_dir / kd.MANIFEST).read_bytes()
            return key_id

    def key_ids(self) -> list[str]:
        with self._lock:
            ring = self._current_ring()
        if ring is None:
            raise KeyUnavailable("no keys")
        return ring.key_ids()
