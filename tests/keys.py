"""Test key directories: the recovery share is kept beside the directory (never inside it),
as a trustee would keep it, so any test process can open the ring it made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.crypto.key_directory import (
    Created,
    init_key_directory,
    load_key_ring,
    unseal_key_from_passphrase,
    unseal_key_from_shares,
)
from storage.crypto.keys import VaultKeyRing


def share_file(path: Path) -> Path:
    path = Path(path)
    return path.parent / f"{path.name}.share"


def init_keys(path: Path, **options: Any) -> Created | None:
    """`init_key_directory`, remembering the shares outside the key directory."""
    created = init_key_directory(path, **options)
    if created is not None and created.shares:
        share_file(path).write_text("\n".join(created.shares))
    return created


def shares_of(path: Path) -> list[str]:
    return share_file(path).read_text().splitlines()


def unseal_key_of(path: Path, passphrase: str | None = None,
                  shares: list[str] | None = None) -> bytes:
    if passphrase is not None:
        return unseal_key_from_passphrase(path, passphrase)
    return unseal_key_from_shares(path, shares or shares_of(path))


def ring_of(path: Path, passphrase: str | None = None,
            shares: list[str] | None = None) -> VaultKeyRing:
    """The unsealed ring, as only the key agent holds it."""
    return load_key_ring(path, unseal_key_of(path, passphrase, shares))
