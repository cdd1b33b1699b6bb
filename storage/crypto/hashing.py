"""SHA-256 computed on a worker thread, so hashing overlaps encryption and I/O.

hashlib releases the GIL for buffers larger than 2 KiB, so a hasher thread runs in
parallel with AES-GCM (which also releases it) and with file writes. docs/performance.md
("Evidence store") has the measurements that justify this.

The caller owns the buffers it hands in and must not overwrite one until ``wait(ticket)``
for it returns; ``BlobStore`` keeps two buffer sets and alternates between them.
"""

from __future__ import annotations

import hashlib
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
        self.queue: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
        self.cond = threading.Condition()
        self.done = 0
        self.error: BaseException | None = None


def _work(shared: _Shared) -> None:
    while True:
        item = shared.queue.get()
        if item is None:
            return
        try:
            shared.hash.update(item)
        except BaseException as e:  # surfaced to the caller by wait()/hexdigest()
            with shared.cond:
                shared.error = e
                shared.cond.notify_all()
            return
        with shared.cond:
            shared.done += 1
            shared.cond.notify_all()


class BackgroundHasher:
    """An incremental SHA-256 whose updates run on a lazily started worker thread.

    A hasher that is dropped without ``close()`` stops its worker when garbage-collected.
    """

    def __init__(self, hash_: Hash | None = None) -> None:
        self._shared = _Shared(hash_)
        self._submitted = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def update(self, data: memoryview) -> int:
        """Queue ``data`` for hashing; return a ticket to ``wait`` on before reusing it."""
        if self._closed:
            raise ValueError("hasher is closed")
        shared = self._shared
        self._submitted += 1
        if self._thread is None and len(data) < INLINE_LIMIT:
            shared.hash.update(data)
            shared.done = self._submitted
            return self._submitted
        if self._thread is None:
            self._thread = threading.Thread(target=_work, args=(shared,), name="sha256")
            self._thread.daemon = True
            self._thread.start()
            weakref.finalize(self, shared.queue.put, None)
        shared.queue.put(data)
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
        """Finish: wait for all queued data, stop the worker and return the hex digest."""
        self.close()
        if self._shared.error is not None:
            raise RuntimeError("hash worker failed") from self._shared.error
        return self._shared.hash.hexdigest()

    def close(self) -> None:
        """Stop the worker (idempotent); queued updates are finished first."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._shared.queue.put(None)
            self._thread.join()
