"""SHA-256 computed on a worker thread, so hashing overlaps encryption and I/O.

hashlib releases the GIL for buffers larger than 2 KiB, so a hasher thread runs in
parallel with AES-GCM (which also releases it) and with file writes. docs/performance.md
("Evidence store") has the measurements that justify this.

The caller owns the buffers it hands in and must not overwrite one until ``wait(ticket)``
for it returns; ``BlobStore`` keeps two buffer sets and alternates between them.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import weakref
from typing import Protocol

# Below this size a buffer is hashed inline: starting a thread costs more than it saves.
INLINE_LIMIT = 64 * 1024


class Hash(Protocol):
    """What a hasher runs: ``hashlib.sha256()`` or a ``ResumableSha256``."""

    def update(self, data: memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


class _Shared:
    """State shared with the worker; the worker holds no reference to the hasher itself."""

    def __init__(self, hash_: Hash | None) -> None:
        self.hash: Hash = hashlib.sha256() if hash_ is None else hash_
        self.cond = threading.Condition()
        self.done = 0
        self.error: BaseException | None = None


_RELEASE = object()  # "this hasher is done with you": the worker goes back to the pool
_Task = tuple[_Shared, memoryview] | object


class _Worker:
    """A hashing thread lent to one hasher at a time, then kept for the next one.

    Starting and joining two threads for every request cost ~10 % of an 8 MiB upload PATCH
    (docs/performance.md); a process keeps at most ``POOL_LIMIT`` idle workers.
    """

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        thread.start()

    def _run(self) -> None:
        while True:
            task = self.queue.get()
            if task is _RELEASE:
                if not _give_back(self):
                    return
                continue
            assert isinstance(task, tuple)
            shared, item = task
            if shared.error is not None:  # an earlier update failed: the rest is moot
                continue
            try:
                shared.hash.update(item)
            except BaseException as e:  # surfaced to the caller by wait()/hexdigest()
                with shared.cond:
                    shared.error = e
                    shared.cond.notify_all()
                continue
            with shared.cond:
                shared.done += 1
                shared.cond.notify_all()


POOL_LIMIT = 16
_idle: list[_Worker] = []
_idle_lock = threading.Lock()


def _forget_after_fork() -> None:
    # A forked child (an RQ work horse) has none of the parent's threads: an idle worker
    # would take work and never do it, and the lock may have been held at the fork.
    global _idle_lock
    _idle.clear()
    _idle_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _lend() -> _Worker:
    with _idle_lock:
        if _idle:
            return _idle.pop()
    return _Worker()


def _give_back(worker: _Worker) -> bool:
    """Keep an idle worker for the next hasher; False if the pool is full (it then ends)."""
    with _idle_lock:
        if len(_idle) >= POOL_LIMIT:
            return False
        _idle.append(worker)
        return True


class BackgroundHasher:
    """An incremental SHA-256 whose updates run on a worker thread lent from a pool.

    A hasher that is dropped without ``close()`` gives its worker back when
    garbage-collected.
    """

    def __init__(self, hash_: Hash | None = None) -> None:
        self._shared = _Shared(hash_)
        self._submitted = 0
        self._worker: _Worker | None = None
        self._release: weakref.finalize[[_Task], BackgroundHasher] | None = None
        self._closed = False

    def update(self, data: memoryview) -> int:
        """Queue ``data`` for hashing; return a ticket to ``wait`` on before reusing it."""
        if self._closed:
            raise ValueError("hasher is closed")
        shared = self._shared
        self._submitted += 1
        if self._worker is None and len(data) < INLINE_LIMIT:
            shared.hash.update(data)
            shared.done = self._submitted
            return self._submitted
        if self._worker is None:
            self._worker = _lend()
            # Called once: by close(), or when the hasher is garbage-collected.
            self._release = weakref.finalize(self, self._worker.queue.put, _RELEASE)
        self._worker.queue.put((shared, data))
        return self._submitted

    def wait(self, ticket: int) -> None:
        """Block until the update that returned ``ticket`` (and all before it) is hashed."""
        shared = self._shared
        with shared.cond:
            shared.cond.wait_for(lambda: shared.done >= ticket or shared.error is not None)
        if shared.error is not None:
            raise RuntimeError("hash worker failed") from shared.error

    def sync(self) -> Hash:
        """Wait until everything queued is hashed; return the underlying hash object."""
        self.wait(self._submitted)
        return self._shared.hash

    def hexdigest(self) -> str:
        """Finish: wait for all queued data, give the worker back, return the hex digest."""
        self.close()
        if self._shared.error is not None:
            raise RuntimeError("hash worker failed") from self._shared.error
        return self._shared.hash.hexdigest()

    def close(self) -> None:
        """Give the worker back (idempotent); queued updates are finished first."""
        if self._closed:
            return
        self._closed = True
        if self._release is not None:
            shared = self._shared
            with shared.cond:
                shared.cond.wait_for(
                    lambda: shared.done >= self._submitted or shared.error is not None)
            self._release()
