"""The last signed checkpoint (size, root), kept in a file OUTSIDE the database.

DESIGN.md §4: restoring an old database backup must not let the signer silently
rewrite history. Before signing, ``CheckpointGuard`` compares the proposed tree with
the last one signed, under an exclusive ``flock`` so that concurrent signers (several
processes, several hosts sharing the instance folder) are serialised. It refuses a
smaller tree, a different root for the same size, and a larger tree without a valid
RFC 6962 consistency proof from the recorded one (c2sp.org/tlog-checkpoint,
"Signatures": a log MUST NOT sign a checkpoint inconsistent with one it signed).

File format (JSON, mode 0600)::

    {"version": 1, "size": 42, "root": "<hex>", "time": "<RFC 3339>", "note": "<text>"}
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from storage.crypto.merkle import (
    HASH_SIZE,
    CheckpointError,
    ConsistencyProofError,
    verify_consistency,
)

STATE_VERSION = 1

ProofSource = Sequence[bytes] | Callable[[int, int], Sequence[bytes]]
"""A consistency proof, or a callable ``(old_size, new_size) -> proof`` producing one."""


class CheckpointStateError(CheckpointError):
    """The checkpoint state file is unreadable or malformed."""


class RollbackRefused(CheckpointError):
    """The proposed tree is smaller than, or inconsistent with, the last signed one."""


@dataclass(frozen=True, slots=True)
class CheckpointState:
    """The last signed checkpoint."""

    size: int
    root: bytes
    time: datetime
    note: str


class Reservation:
    """A checked (size, root) held under the lock; ``commit`` records the signed note."""

    def __init__(self, previous: CheckpointState | None, size: int, root: bytes) -> None:
        self.previous = previous
        self.size = size
        self.root = root
        self.committed: CheckpointState | None = None

    def commit(self, note: str, time: datetime) -> None:
        """Record the note signed for this (size, root); written when the block exits."""
        if time.tzinfo is None:
            raise CheckpointStateError("checkpoint time must be timezone-aware")
        self.committed = CheckpointState(self.size, self.root, time, note)


class CheckpointGuard:
    """Refuses to sign rollbacks and forks; see the module docstring.

    Usage::

        with guard.advance(size, root, proof=tree.consistency_proof) as r:
            note = sign_checkpoint(origin, size, root, now, key, name)
            r.commit(note, now)
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        # A separate lock file: the state file itself is replaced by rename, and a
        # lock on a replaced inode would not exclude the next process.
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def current(self) -> CheckpointState | None:
        """Return the last recorded checkpoint, or None if none was ever signed."""
        with self._locked(fcntl.LOCK_SH):
            return self._read()

    @contextlib.contextmanager
    def advance(
        self, size: int, root: bytes, proof: ProofSource | None = None
    ) -> Iterator[Reservation]:
        """Hold the exclusive lock, check (size, root) against the record, and yield.

        Raises ``RollbackRefused`` before yielding if the tree must not be signed. If
        the block calls ``Reservation.commit`` and exits normally, the new state is
        written atomically before the lock is released; otherwise nothing changes.
        """
        if size < 0 or len(root) != HASH_SIZE:
            raise CheckpointStateError("size must be >= 0 and root 32 bytes")
        with self._locked(fcntl.LOCK_EX):
            previous = self._read()
            if previous is not None:
                _check_advance(previous, size, root, proof)
            reservation = Reservation(previous, size, root)
            yield reservation
            if reservation.committed is not None:
                self._write(reservation.committed)

    def record(
        self, size: int, root: bytes, note: str, time: datetime,
        proof: ProofSource | None = None,
    ) -> None:
        """Check and record an already signed checkpoint in one step."""
        with self.advance(size, root, proof) as reservation:
            reservation.commit(note, time)

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _read(self) -> CheckpointState | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw)
            if data["version"] != STATE_VERSION:
                raise CheckpointStateError(f"unknown state version {data['version']!r}")
            state = CheckpointState(
                size=int(data["size"]),
                root=bytes.fromhex(data["root"]),
                time=datetime.fromisoformat(data["time"]),
                note=str(data["note"]),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise CheckpointStateError("checkpoint state file is malformed") from e
        if state.size < 0 or len(state.root) != HASH_SIZE:
            raise CheckpointStateError("checkpoint state file is malformed")
        return state

    def _write(self, state: CheckpointState) -> None:
        data = {
            "version": STATE_VERSION,
            "size": state.size,
            "root": state.root.hex(),
            "time": state.time.isoformat(),
            "note": state.note,
        }
        payload = json.dumps(data, indent=2).encode("utf-8") + b"\n"
        directory = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:  # mkstemp creates the file with mode 0600
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _check_advance(
    previous: CheckpointState, size: int, root: bytes, proof: ProofSource | None
) -> None:
    if size < previous.size:
        raise RollbackRefused(
            f"tree size {size} is smaller than the last signed size {previous.size}"
        )
    if size == previous.size:
        if root != previous.root:
            raise RollbackRefused(f"a different root was already signed for size {size}")
        return
    if previous.size == 0:
        return  # the empty tree is a prefix of every tree
    if proof is None:
        raise RollbackRefused(
            f"a consistency proof from size {previous.size} to {size} is required"
        )
    nodes = proof(previous.size, size) if callable(proof) else proof
    try:
        verify_consistency(previous.size, size, previous.root, root, list(nodes))
    except ConsistencyProofError as e:
        raise RollbackRefused(
            f"tree of size {size} is not consistent with the last signed size {previous.size}"
        ) from e
