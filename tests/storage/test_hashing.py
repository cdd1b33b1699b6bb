"""Background SHA-256 on pooled threads, and pooled writer buffers.

One request after another must not start threads or allocate new chunk buffers each time,
and sharing them must never mix one writer's bytes into another's hash or leave plaintext
in a kept buffer.
"""

from __future__ import annotations

import gc
import hashlib
import os
import threading

import pytest

from storage import buffers
from storage.crypto.hashing import POOL_LIMIT, BackgroundHasher

MiB = 1024 * 1024


def _hash_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "sha256")


def _digest(pieces: list[bytes]) -> str:
    hasher = BackgroundHasher()
    for piece in pieces:
        hasher.wait(hasher.update(memoryview(piece)))
    return hasher.hexdigest()


def test_one_request_after_another_reuses_one_hashing_thread() -> None:
    pieces = [os.urandom(MiB) for _ in range(3)]
    expected = hashlib.sha256(b"".join(pieces)).hexdigest()
    _digest(pieces)
    before = _hash_threads()
    for _ in range(40):
        assert _digest(pieces) == expected
    assert _hash_threads() <= max(before, 1) + 1  # the last one may still be on its way back


def test_concurrent_hashers_never_mix_their_bytes() -> None:
    datas = [os.urandom(2 * MiB + i) for i in range(12)]
    results: dict[int, str] = {}

    def run(i: int) -> None:
        data = datas[i]
        results[i] = _digest([data[j:j + 256 * 1024] for j in range(0, len(data), 256 * 1024)])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(datas))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: hashlib.sha256(d).hexdigest() for i, d in enumerate(datas)}
    assert _hash_threads() <= POOL_LIMIT


def test_a_hasher_dropped_without_close_gives_its_thread_back() -> None:
    _digest([os.urandom(MiB)])
    before = _hash_threads()
    for _ in range(20):
        hasher = BackgroundHasher()
        hasher.wait(hasher.update(memoryview(os.urandom(MiB))))
        del hasher
        gc.collect()
    assert _hash_threads() <= max(before, 1) + 1


class _Broken:
    def update(self, data: memoryview, /) -> None:
        raise OSError("hash failed")

    def hexdigest(self) -> str:
        return ""


def test_a_failing_hash_is_reported_and_the_thread_serves_the_next_hasher() -> None:
    broken = BackgroundHasher(_Broken())  # type: ignore[arg-type]
    ticket = broken.update(memoryview(bytes(MiB)))
    with pytest.raises(RuntimeError, match="hash worker failed"):
        broken.wait(ticket)
    broken.close()
    data = os.urandom(MiB)
    assert _digest([data]) == hashlib.sha256(data).hexdigest()


def test_a_buffer_that_held_plaintext_comes_back_wiped() -> None:
    size = MiB + 7  # a size no writer uses, so this test owns the pool's slot
    buf = buffers.take(size)
    buf[:] = b"secret testimony".ljust(size, b"!")
    buffers.give(buf, wipe=True)
    again = buffers.take(size)
    assert again is buf
    assert again == bytes(size)


def test_a_ciphertext_buffer_is_kept_as_it_is_and_the_pool_is_bounded() -> None:
    size = MiB + 11
    taken = [buffers.take(size) for _ in range(buffers.LIMIT + 5)]
    taken[0][:4] = b"ctxt"
    for buf in taken:
        buffers.give(buf, wipe=False)
    kept = [buffers.take(size) for _ in range(buffers.LIMIT + 1)]
    assert sum(1 for b in kept if any(b is t for t in taken)) == buffers.LIMIT


def test_a_forked_child_starts_its_own_hashing_thread() -> None:
    # An RQ work horse is forked from a worker that may have hashed: the parent's idle
    # threads do not exist in the child, so it must not wait on them.
    _digest([os.urandom(MiB)])  # leaves an idle hashing thread in this process
    data = os.urandom(MiB)
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the digest comes back
        try:
            os._exit(0 if _digest([data]) == hashlib.sha256(data).hexdigest() else 1)
        finally:
            os._exit(2)
    deadline = 30
    while deadline:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(code) == 0
            return
        deadline -= 1
        threading.Event().wait(1)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the child waited for a thread it does not have")
