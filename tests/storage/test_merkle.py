"""RFC 6962 Merkle hashing and proofs: known answers and exhaustive small-tree properties."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from storage.crypto import merkle
from storage.crypto.merkle import (
    CompactRange,
    ConsistencyProofError,
    InclusionProofError,
    MerkleProofError,
    MerkleTree,
)

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "rfc6962_transparency_dev.json").read_text("utf-8")
)
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots_by_size"]]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
MAX_N = 64


def _hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(i.to_bytes(8, "big")).digest()) for i in range(n)]


def _reference_mth(data: list[bytes]) -> bytes:
    """MTH straight from the recursive definition in RFC 6962 §2.1."""
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1 << ((len(data) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _reference_mth(data[:k]) + _reference_mth(data[k:])).digest()


def _flip(proof: list[bytes], i: int) -> list[bytes]:
    bad = list(proof)
    bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
    return bad


def test_hash_functions_match_published_vectors() -> None:
    hv = VECTORS["hash_vectors"]
    assert merkle.EMPTY_ROOT.hex() == hv["empty_root"]
    assert merkle.leaf_hash(b"").hex() == hv["empty_leaf_hash"]
    assert merkle.leaf_hash(b"L123456").hex() == hv["leaf_L123456"]["hash"]
    assert merkle.node_hash(b"N123", b"N456").hex() == hv["node_N123_N456"]["hash"]


def test_empty_tree_root_is_sha256_of_empty_string() -> None:
    assert merkle.root([]) == hashlib.sha256(b"").digest()
    assert CompactRange().root() == merkle.EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_root_of_reference_tree_matches_published_root(size: int) -> None:
    assert merkle.root(LEAVES[:size]) == ROOTS[size - 1]
    assert MerkleTree(merkle.leaf_hashes(LEAVES)).root(size) == ROOTS[size - 1]


@pytest.mark.parametrize("vector", VECTORS["inclusion"], ids=lambda v: f"{v['index']}-{v['size']}")
def test_inclusion_proof_matches_published_vector(vector: dict) -> None:
    index, size = vector["index"], vector["size"]
    want = [bytes.fromhex(x) for x in vector["proof"]]
    hashes = merkle.leaf_hashes(LEAVES)
    assert merkle.inclusion_proof(hashes, index, size) == want
    merkle.verify_inclusion(hashes[index], index, size, want, ROOTS[size - 1])


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"], ids=lambda v: f"{v['old_size']}-{v['new_size']}"
)
def test_consistency_proof_matches_published_vector(vector: dict) -> None:
    old, new = vector["old_size"], vector["new_size"]
    want = [bytes.fromhex(x) for x in vector["proof"]]
    assert merkle.consistency_proof(merkle.leaf_hashes(LEAVES), old, new) == want
    merkle.verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], want)


def test_compact_range_matches_recursive_definition_for_every_size() -> None:
    data = [i.to_bytes(4, "big") for i in range(130)]
    cr = CompactRange()
    assert cr.root() == _reference_mth([])
    for n, d in enumerate(data, start=1):
        cr.append(merkle.leaf_hash(d))
        assert cr.size == n
        assert cr.root() == _reference_mth(data[:n])


def test_every_inclusion_proof_up_to_size_64_verifies_and_tampering_fails() -> None:
    hashes = _hashes(MAX_N)
    tree = MerkleTree(hashes)
    for size in range(1, MAX_N + 1):
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            merkle.verify_inclusion(hashes[index], index, size, proof, root)
            bad_probes = [
                (hashes[index], index, size, proof, SOME_HASH),
                (SOME_HASH, index, size, proof, root),
                (hashes[index], index, size, [*proof, root], root),
                (hashes[index], index, size, [root, *proof], root),
                (hashes[index], index, size * 2, proof, root),
            ]
            if size > 1:
                other = (index + 1) % size
                bad_probes.append((hashes[index], other, size, proof, root))
            bad_probes += [(hashes[index], index, size, _flip(proof, i), root)
                           for i in range(len(proof))]
            if proof:
                bad_probes.append((hashes[index], index, size, proof[:-1], root))
            for probe in bad_probes:
                with pytest.raises(MerkleProofError):
                    merkle.verify_inclusion(*probe)


def test_every_consistency_proof_up_to_size_64_verifies_and_tampering_fails() -> None:
    hashes = _hashes(MAX_N)
    tree = MerkleTree(hashes)
    roots = [tree.root(n) for n in range(MAX_N + 1)]
    for new in range(1, MAX_N + 1):
        for old in range(0, new + 1):
            proof = tree.consistency_proof(old, new)
            merkle.verify_consistency(old, new, roots[old], roots[new], proof)
            if old in (0, new):
                continue
            bad_probes = [
                (old, new, roots[new], roots[new], proof),
                (old, new, roots[old], roots[old], proof),
                (old, new, roots[old], roots[new], []),
                (old, new, roots[old], roots[new], proof[:-1]),
                (old, new, roots[old], roots[new], [*proof, roots[new]]),
                (old, new, roots[old], roots[new], [roots[old], *proof]),
                (old - 1, new, roots[old], roots[new], proof),
                (old, new * 2, roots[old], roots[new], proof),
                (new, old, roots[new], roots[old], proof),
            ]
            if old + 1 < new:
                bad_probes.append((old + 1, new, roots[old], roots[new], proof))
            bad_probes += [(old, new, roots[old], roots[new], _flip(proof, i))
                           for i in range(len(proof))]
            for probe in bad_probes:
                with pytest.raises(ConsistencyProofError):
                    merkle.verify_consistency(*probe)


def test_module_level_proofs_agree_with_tree_methods() -> None:
    hashes = _hashes(23)
    tree = MerkleTree(hashes)
    assert merkle.inclusion_proof(hashes, 7, 19) == tree.inclusion_proof(7, 19)
    assert merkle.consistency_proof(hashes, 5, 19) == tree.consistency_proof(5, 19)
    assert merkle.root_from_leaf_hashes(hashes) == tree.root()


def test_same_size_with_different_roots_is_inconsistent() -> None:
    with pytest.raises(ConsistencyProofError, match="different roots"):
        merkle.verify_consistency(4, 4, SOME_HASH, merkle.EMPTY_ROOT, [])


def test_inclusion_in_empty_tree_or_past_the_end_is_refused() -> None:
    with pytest.raises(InclusionProofError):
        merkle.verify_inclusion(SOME_HASH, 0, 0, [], merkle.EMPTY_ROOT)
    with pytest.raises(InclusionProofError):
        merkle.verify_inclusion(SOME_HASH, 2, 1, [], SOME_HASH)


def test_hashes_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(InclusionProofError):
        merkle.verify_inclusion(b"", 0, 1, [], b"")
    with pytest.raises(MerkleProofError):
        MerkleTree([b"short"])


def test_proof_requests_outside_the_tree_are_refused() -> None:
    tree = MerkleTree(_hashes(4))
    with pytest.raises(MerkleProofError):
        tree.inclusion_proof(4, 4)
    with pytest.raises(MerkleProofError):
        tree.consistency_proof(5, 4)
    with pytest.raises(MerkleProofError):
        tree.root(5)


def test_root_of_a_million_leaves_is_fast() -> None:
    leaf = merkle.leaf_hash(b"x" * 32)
    start = time.perf_counter()
    cr = CompactRange()
    for _ in range(1_000_000):
        cr.append(leaf)
    elapsed = time.perf_counter() - start
    assert cr.size == 1_000_000
    assert len(cr.root()) == 32
    assert elapsed < 10, f"1,000,000 appends took {elapsed:.1f}s"
