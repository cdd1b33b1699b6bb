"""Helpers the benchmarks share: sizes on the command line, random input files, RSS."""

from __future__ import annotations

import os
from pathlib import Path

from storage.crypto.key_directory import (
    MANIFEST,
    init_key_directory,
    load_key_ring,
    unseal_key_from_shares,
)
from storage.crypto.keys import VaultKeyRing

MiB = 1024 * 1024


def parse_size(text: str) -> int:
    """"100M", "1G", "512KiB" or a plain byte count, in bytes."""
    units = {"K": 1024, "M": MiB, "G": 1024 * MiB}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def write_random(path: Path, size: int) -> None:
    """A file of `size` random bytes (incompressible, like encrypted or video evidence)."""
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 * MiB)
            f.write(os.urandom(n))
            left -= n


def vm_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def bench_keys(path: Path) -> VaultKeyRing:
    """A key directory for a benchmark (made if absent) and its unsealed ring.

    The bench's one recovery share is kept beside the directory, as a trustee would keep it;
    only the key agent holds an unsealed ring in production (bench_vault_agent measures it).
    """
    share = path.parent / f"{path.name}.share"
    if not (path / MANIFEST).exists():
        created = init_key_directory(path)
        assert created is not None
        share.write_text("\n".join(created.shares))
    return load_key_ring(path, unseal_key_from_shares(path, share.read_text().splitlines()))
