"""The background checkpoint signer: no unsigned tail of access events to trim.

Every process that appends events (each web worker, each RQ worker; `flask custody signer`
as a process of its own) runs a `CheckpointSigner` thread that signs a checkpoint over any
unsigned event within `checkpoint_signer_seconds`, and at once when woken after a request
that appended. The checkpoint state file outside the database then records how far signed
history went, so `custody verify` catches a trimmed tail (docs/custody.md).

Any number of signers may run at once, on one host or many: `sign_pending` takes a
cluster-wide lock first (a PostgreSQL advisory lock; SQLite is one host, where the state
file's `flock` already serialises signers), `checkpoints.checkpoint` refuses a tree that
is not consistent with the last checkpoint in the database and in the state file, and
the size column is unique, so two signers never produce two roots for one size.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from incidents.core.database import Database
from incidents.core.settings import Settings
from incidents.models.custody import Checkpoint
from incidents.services import checkpoints
from incidents.services.custody import head

log = logging.getLogger(__name__)

# pg_advisory_lock key: "custody signer" as a stable 63-bit number (any constant works; it
# only has to be the same in every process of this deployment).
ADVISORY_KEY = 0x637573746F6479


def unsigned_events(session: Session) -> int:
    """How many committed events no signed checkpoint covers yet."""
    current = head(session)
    signed = session.scalar(select(func.max(Checkpoint.size))) or 0
    session.rollback()
    return max(0, (current.size if current else 0) - signed)


@contextlib.contextmanager
def _cluster_lock(session: Session) -> Iterator[bool]:
    """Whether this process holds the cluster-wide signer lock for the block."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or not isinstance(bind, Engine):
        yield True
        return
    with bind.connect() as connection:
        got = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:k)"),
                                     {"k": ADVISORY_KEY}))
        try:
            yield got
        finally:
            if got:
                connection.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            connection.rollback()


def sign_pending(session: Session, keys: checkpoints.CustodyKeys,
                 settings: Settings) -> Checkpoint | None:
    """Sign a checkpoint if any committed event is unsigned; None if there was nothing to
    sign or another signer holds the lock (it will sign the same events)."""
    if not unsigned_events(session):
        return None
    with _cluster_lock(session) as got:
        if not got:
            return None
        return checkpoints.checkpoint(session, keys, settings)


class CheckpointSigner:
    """A daemon thread signing pending events every `interval` seconds, or when woken."""

    def __init__(self, database: Database, keys: checkpoints.CustodyKeys, settings: Settings,
                 interval: float) -> None:
        self.database = database
        self.keys = keys
        self.settings = settings
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self.signed = 0

    def ensure_running(self) -> None:
        """Start the thread in this process (again after a fork: threads do not survive it)."""
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() \
                    and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="checkpoint-signer",
                                            daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def tick(self) -> Checkpoint | None:
        """One round: sign whatever is pending (errors logged, never raised)."""
        try:
            with self.database.new_session() as session:
                row = sign_pending(session, self.keys, self.settings)
        except Exception as e:  # the events are committed; the next round retries
            log.error("background checkpoint failed: %s", type(e).__name__)
            return None
        if row is not None:
            self.signed += 1
        return row

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._wake.wait(self.interval)
            self._wake.clear()
