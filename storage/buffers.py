"""Writer buffers kept for the next request instead of allocated and freed for each one.

An encrypting writer needs a few buffers of a chunk (1 MiB) each. Allocated per request,
they were fresh memory every time: zeroed by the allocator, and left behind in whichever
thread's malloc arena served that request, so a worker's memory grew with the number of
threads that had ever run an upload (docs/performance.md, "Uploads as appendable blobs").
A process now keeps up to ``LIMIT`` free buffers of each size; one that comes back is
wiped first when it held plaintext.
"""

from __future__ import annotations

import os
import threading

LIMIT = 32  # per size: 8 concurrent writers' worth; beyond that buffers are simply freed

_free: dict[int, list[bytearray]] = {}
_zeros: dict[int, bytes] = {}
_lock = threading.Lock()


def _new_lock_after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_new_lock_after_fork)


def take(size: int) -> bytearray:
    """A buffer of exactly ``size`` bytes (its contents are zeros or old ciphertext)."""
    with _lock:
        free = _free.get(size)
        if free:
            return free.pop()
    return bytearray(size)


def give(buf: bytearray, *, wipe: bool) -> None:
    """Return a buffer taken with ``take``; ``wipe`` it if it held plaintext or keys."""
    size = len(buf)
    if wipe:
        buf[:] = _zeros.get(size) or _zeros.setdefault(size, bytes(size))
    with _lock:
        free = _free.setdefault(size, [])
        if len(free) < LIMIT:
            free.append(buf)
