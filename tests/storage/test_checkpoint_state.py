"""The checkpoint guard refuses rollbacks and forks, and serialises concurrent signers."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import stat
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.checkpoint_state import (
    CheckpointGuard,
    CheckpointStateError,
    RollbackRefused,
)
from storage.crypto import merkle
from storage.crypto.merkle import MerkleTree

NOW = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)


def _tree(n: int, salt: bytes = b"") -> MerkleTree:
    return MerkleTree(
        merkle.leaf_hash(hashlib.sha256(salt + i.to_bytes(8, "big")).digest()) for i in range(n)
    )


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "checkpoint-state.json"


@pytest.fixture
def guard(state_path: Path) -> CheckpointGuard:
    return CheckpointGuard(state_path)


def test_first_checkpoint_is_recorded_with_mode_0600(
    guard: CheckpointGuard, state_path: Path
) -> None:
    tree = _tree(4)
    guard.record(4, tree.root(), "note text\n", NOW)
    state = guard.current()
    assert state is not None
    assert (state.size, state.root, state.time, state.note) == (4, tree.root(), NOW, "note text\n")
    assert stat.S_IMODE(state_path.stat().st_mode) == 0o600
    data = json.loads(state_path.read_text())
    assert data["root"] == tree.root().hex()
    assert data["size"] == 4


def test_no_state_means_nothing_signed_yet(guard: CheckpointGuard) -> None:
    assert guard.current() is None


def test_consistent_larger_tree_is_accepted_with_a_proof(guard: CheckpointGuard) -> None:
    tree = _tree(20)
    guard.record(7, tree.root(7), "n7\n", NOW)
    guard.record(20, tree.root(20), "n20\n", NOW, proof=tree.consistency_proof(7, 20))
    state = guard.current()
    assert state is not None
    assert state.size == 20


def test_proof_may_be_a_callable_given_the_recorded_size(guard: CheckpointGuard) -> None:
    tree = _tree(20)
    guard.record(7, tree.root(7), "n7\n", NOW)
    asked: list[tuple[int, int]] = []

    def proof(old: int, new: int) -> list[bytes]:
        asked.append((old, new))
        return tree.consistency_proof(old, new)

    guard.record(20, tree.root(), "n20\n", NOW, proof=proof)
    assert asked == [(7, 20)]


def test_smaller_tree_is_refused(guard: CheckpointGuard) -> None:
    tree = _tree(10)
    guard.record(10, tree.root(), "n10\n", NOW)
    with pytest.raises(RollbackRefused, match="smaller"):
        guard.record(9, tree.root(9), "n9\n", NOW)
    state = guard.current()
    assert state is not None
    assert state.size == 10


def test_same_size_with_a_different_root_is_refused(guard: CheckpointGuard) -> None:
    guard.record(10, _tree(10).root(), "n\n", NOW)
    with pytest.raises(RollbackRefused, match="different root"):
        guard.record(10, _tree(10, b"forked").root(), "forked\n", NOW)


def test_same_size_and_root_may_be_signed_again(guard: CheckpointGuard) -> None:
    tree = _tree(10)
    guard.record(10, tree.root(), "first\n", NOW)
    guard.record(10, tree.root(), "again\n", NOW)
    state = guard.current()
    assert state is not None
    assert state.note == "again\n"


def test_inconsistent_larger_tree_is_refused(guard: CheckpointGuard) -> None:
    guard.record(6, _tree(6).root(), "n6\n", NOW)
    forked = _tree(12, b"restored-from-old-backup")
    with pytest.raises(RollbackRefused, match="not consistent"):
        guard.record(12, forked.root(), "n12\n", NOW, proof=forked.consistency_proof(6, 12))
    state = guard.current()
    assert state is not None
    assert state.size == 6


def test_larger_tree_without_a_proof_is_refused(guard: CheckpointGuard) -> None:
    guard.record(6, _tree(6).root(), "n6\n", NOW)
    with pytest.raises(RollbackRefused, match="proof"):
        guard.record(12, _tree(12).root(), "n12\n", NOW)


def test_nothing_is_written_if_signing_fails(guard: CheckpointGuard) -> None:
    tree = _tree(8)
    guard.record(4, tree.root(4), "n4\n", NOW)

    def sign_but_fail() -> None:
        with guard.advance(8, tree.root(), tree.consistency_proof) as r:
            r.commit("never written\n", NOW)
            raise RuntimeError("signing key unavailable")

    with pytest.raises(RuntimeError):
        sign_but_fail()
    state = guard.current()
    assert state is not None
    assert state.size == 4


def test_reservation_without_commit_changes_nothing(guard: CheckpointGuard) -> None:
    with guard.advance(3, _tree(3).root()) as r:
        assert r.previous is None
    assert guard.current() is None


def test_malformed_state_file_is_an_error_not_a_fresh_start(
    guard: CheckpointGuard, state_path: Path
) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_text("{not json")
    with pytest.raises(CheckpointStateError):
        guard.record(1, _tree(1).root(), "n\n", NOW)


def _sign_in_process(path: str, salt: bytes, size: int, barrier: object, results: object) -> None:
    """Child process: propose a tree, hold the lock a while as if signing, report."""
    tree = _tree(size, salt)
    guard = CheckpointGuard(path)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        with guard.advance(size, tree.root(), tree.consistency_proof) as r:
            time.sleep(0.3)  # a slow signer: the other process must wait for the lock
            r.commit(f"{salt.decode()}\n", datetime.now(UTC))
    except RollbackRefused:
        results.put((salt, "refused"))  # type: ignore[attr-defined]
    else:
        results.put((salt, "recorded"))  # type: ignore[attr-defined]


def test_two_processes_signing_different_roots_for_one_size_serialise(
    guard: CheckpointGuard, state_path: Path
) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_sign_in_process, args=(str(state_path), salt, 16, barrier, results))
        for salt in (b"alpha", b"beta")
    ]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=30) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sorted(outcomes.values()) == ["recorded", "refused"]
    winner = next(salt for salt, outcome in outcomes.items() if outcome == "recorded")
    state = guard.current()
    assert state is not None
    assert state.root == _tree(16, winner).root()
    assert state.note == f"{winner.decode()}\n"


def _advance_in_process(path: str, size: int, barrier: object, results: object) -> None:
    tree = _tree(64)
    guard = CheckpointGuard(path)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        with guard.advance(size, tree.root(size), tree.consistency_proof) as r:
            r.commit(f"{size}\n", datetime.now(UTC))
            seen = None if r.previous is None else r.previous.size
    except RollbackRefused:
        results.put((size, "refused", None))  # type: ignore[attr-defined]
    else:
        results.put((size, "recorded", seen))  # type: ignore[attr-defined]


def test_many_processes_advancing_one_log_never_go_backwards(
    guard: CheckpointGuard, state_path: Path
) -> None:
    sizes = [5, 17, 33, 40, 64, 12]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(sizes))
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_advance_in_process, args=(str(state_path), s, barrier, results))
        for s in sizes
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    recorded = sorted((size, seen) for size, outcome, seen in outcomes if outcome == "recorded")
    # Whatever order the lock was granted in, the recorded checkpoints form one chain:
    # each saw exactly the one recorded before it, so no two signers raced past a check.
    chain = [None] + [size for size, _ in recorded]
    assert [seen for _, seen in recorded] == chain[:-1]
    assert recorded[-1][0] == 64
    state = guard.current()
    assert state is not None
    assert (state.size, state.root) == (64, _tree(64).root())
