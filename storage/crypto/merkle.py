"""RFC 6962 §2.1 Merkle tree hashing, inclusion and consistency proofs (SHA-256).

Vocabulary used throughout this module:

* *leaf data* is the byte string a leaf commits to. In the custody ledger the leaf
  data of event ``i`` is that event's 32-byte chain hash (DESIGN.md §4).
* a *leaf hash* is ``leaf_hash(data) = SHA-256(0x00 || data)`` (RFC 6962 §2.1).
* an interior node is ``node_hash(l, r) = SHA-256(0x01 || l || r)``.

``root`` takes leaf *data*; everything else (``root_from_leaf_hashes``,
``CompactRange``, ``MerkleTree``, the proof functions) takes leaf *hashes*, so a
caller hashes each event once and reuses the result. Proof generation follows
RFC 6962 §2.1.1/§2.1.2; proof verification follows the algorithms of RFC 9162
§2.1.3.2 and §2.1.4.2, which accept exactly the proofs RFC 6962 generates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from storage.errors import StorageError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The Merkle Tree Hash of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class CheckpointError(StorageError):
    """Base class for custody checkpoint errors (Merkle proofs, notes, state, timestamps)."""


class MerkleProofError(CheckpointError):
    """A Merkle proof is malformed or does not lead to the expected root."""


class InclusionProofError(MerkleProofError):
    """An inclusion proof does not show the leaf in the tree with the given root."""


class ConsistencyProofError(MerkleProofError):
    """A consistency proof does not show the old tree is a prefix of the new tree."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def leaf_hashes(leaves: Iterable[bytes]) -> list[bytes]:
    """Return the leaf hash of every leaf datum, in order."""
    return [leaf_hash(d) for d in leaves]


class CompactRange:
    """Incremental Merkle Tree Hash over appended leaf hashes, in O(log n) memory.

    The stack holds the roots of the perfect subtrees that make up the tree, largest
    (left-most) first; their sizes are the set bits of ``size``. Appending merges
    equal-sized neighbours like a binary counter, so n appends cost n node hashes.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._size = 0
        self._stack: list[bytes] = []

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash_: bytes) -> None:
        """Append one leaf *hash* (not leaf data)."""
        h = leaf_hash_
        n = self._size
        stack = self._stack
        while n & 1:  # every trailing 1 bit is a perfect subtree to merge with
            h = node_hash(stack.pop(), h)
            n >>= 1
        stack.append(h)
        self._size += 1

    def extend(self, hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes."""
        for h in hashes:
            self.append(h)

    def root(self) -> bytes:
        """Return the Merkle Tree Hash of the leaves appended so far."""
        if not self._stack:
            return EMPTY_ROOT
        # RFC 6962 splits at the largest power of two, so smaller subtrees hang off
        # the right: fold from the right-most (smallest) subtree to the left.
        h = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            h = node_hash(left, h)
        return h


def root(leaves: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash MTH(D[n]) of a list of leaf *data* (RFC 6962 §2.1)."""
    cr = CompactRange()
    for d in leaves:
        cr.append(leaf_hash(d))
    return cr.root()


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> bytes:
    """Return the Merkle Tree Hash of a sequence of leaf *hashes*."""
    cr = CompactRange()
    cr.extend(hashes)
    return cr.root()


def _split(n: int) -> int:
    """Return k, the largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """All perfect-subtree hashes of a tree, for answering many proofs in O(log² n).

    Building costs n - 1 node hashes and keeps about 2n hashes in memory. Takes leaf
    *hashes*. ``levels[h][j]`` is the root of the perfect subtree of height h covering
    leaves ``[j * 2**h, (j + 1) * 2**h)``.
    """

    def __init__(self, hashes: Iterable[bytes]) -> None:
        level = list(hashes)
        for h in level:
            _check_hash(h, "leaf hash")
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self.levels[0])

    def _range_hash(self, lo: int, hi: int) -> bytes:
        """MTH of leaves [lo, hi), where lo is a multiple of the largest power of 2 <= hi - lo.

        Every subtree that RFC 6962's recursive definitions reach has that shape, so
        it is the right-leaning fold of aligned perfect subtrees (one per set bit).
        """
        if hi - lo == 0:
            return EMPTY_ROOT
        parts: list[bytes] = []
        pos = lo
        for height in range((hi - lo).bit_length() - 1, -1, -1):
            if (hi - lo) >> height & 1:
                parts.append(self.levels[height][pos >> height])
                pos += 1 << height
        h = parts[-1]
        for left in reversed(parts[:-1]):
            h = node_hash(left, h)
        return h

    def root(self, size: int | None = None) -> bytes:
        """Return the root of the first ``size`` leaves (default: all)."""
        n = self.size if size is None else size
        _check_size(n, self.size)
        return self._range_hash(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the audit path PATH(index, D[size]) (RFC 6962 §2.1.1)."""
        n = self.size if size is None else size
        _check_size(n, self.size)
        if not 0 <= index < n:
            raise MerkleProofError(f"leaf index {index} is outside a tree of size {n}")
        proof: list[bytes] = []
        lo, hi, m = 0, n, index
        while hi - lo > 1:
            k = _split(hi - lo)
            if m < k:
                proof.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range_hash(lo, lo + k))
                lo, m = lo + k, m - k
        proof.reverse()  # collected top-down; RFC 6962 lists the path bottom-up
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return PROOF(old_size, D[new_size]) (RFC 6962 §2.1.2); empty if trivial."""
        n = self.size if new_size is None else new_size
        _check_size(n, self.size)
        if not 0 <= old_size <= n:
            raise MerkleProofError(f"old size {old_size} is outside 0..{n}")
        if old_size in (0, n):
            return []
        proof: list[bytes] = []
        lo, hi, m, complete = 0, n, old_size, True
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                proof.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range_hash(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        if not complete:
            proof.append(self._range_hash(lo, hi))
        proof.reverse()
        return proof


def inclusion_proof(hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Return the inclusion proof for leaf ``index`` in the tree of the first ``size`` hashes.

    ``hashes`` are leaf *hashes*. For many proofs over one tree, build a ``MerkleTree``.
    """
    _check_size(size, len(hashes))
    return MerkleTree(hashes[i] for i in range(size)).inclusion_proof(index, size)


def consistency_proof(hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Return the consistency proof between the trees of the first old/new_size leaf hashes."""
    _check_size(new_size, len(hashes))
    return MerkleTree(hashes[i] for i in range(new_size)).consistency_proof(old_size, new_size)


def root_from_inclusion_proof(
    leaf_hash_: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Return the root implied by an inclusion proof (RFC 9162 §2.1.3.2), or raise."""
    _check_hash(leaf_hash_, "leaf hash")
    if not 0 <= index < size:
        raise InclusionProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf_hash_
    for p in proof:
        _check_hash(p, "proof element", InclusionProofError)
        if sn == 0:
            raise InclusionProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InclusionProofError("inclusion proof is too short")
    return r


def verify_inclusion(
    leaf_hash_: bytes, index: int, size: int, proof: Sequence[bytes], root_: bytes
) -> None:
    """Check that ``leaf_hash_`` is leaf ``index`` of the tree (size, root); raise if not."""
    _check_hash(root_, "root", InclusionProofError)
    if root_from_inclusion_proof(leaf_hash_, index, size, proof) != root_:
        raise InclusionProofError(f"inclusion proof for leaf {index} does not match the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that tree (old_size, old_root) is a prefix of (new_size, new_root) (RFC 9162
    §2.1.4.2); raise ``ConsistencyProofError`` if not."""
    _check_hash(old_root, "old root", ConsistencyProofError)
    _check_hash(new_root, "new root", ConsistencyProofError)
    for p in proof:
        _check_hash(p, "proof element", ConsistencyProofError)
    if not 0 <= old_size <= new_size:
        raise ConsistencyProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise ConsistencyProofError("proof must be empty for equal sizes")
        if old_root != new_root:
            raise ConsistencyProofError(f"different roots for the same size {old_size}")
        return
    if old_size == 0:
        # The empty tree is a prefix of every tree.
        if proof:
            raise ConsistencyProofError("proof must be empty from the empty tree")
        return
    if not proof:
        raise ConsistencyProofError("empty consistency proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # old tree is perfect: its root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyProofError("consistency proof is too short")
    if fr != old_root:
        raise ConsistencyProofError("consistency proof does not match the old root")
    if sr != new_root:
        raise ConsistencyProofError("consistency proof does not match the new root")


def _check_size(size: int, available: int) -> None:
    if not 0 <= size <= available:
        raise MerkleProofError(f"tree size {size} is outside 0..{available}")


def _check_hash(
    h: bytes, what: str, error: type[MerkleProofError] = MerkleProofError
) -> None:
    if not isinstance(h, bytes | bytearray) or len(h) != HASH_SIZE:
        raise error(f"{what} must be {HASH_SIZE} bytes")
