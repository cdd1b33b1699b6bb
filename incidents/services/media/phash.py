"""Perceptual hashes (imagehash's DCT pHash, 64 bits) and their Hamming distance."""

from __future__ import annotations

PHASH_BITS = 64
# Distances up to this many bits out of 64 mean "the same picture, re-encoded, resized or
# lightly edited"; unrelated photos of one scene are typically 20 or more bits apart.
DEFAULT_NEAR_DISTANCE = 8


def hamming(a: int, b: int) -> int:
    """How many of the 64 bits differ."""
    return (a ^ b).bit_count()


def to_bytes(value: int) -> bytes:
    return value.to_bytes(8, "big")


def from_bytes(data: bytes) -> int:
    if len(data) != 8:
        raise ValueError("a perceptual hash is 8 bytes")
    return int.from_bytes(data, "big")
