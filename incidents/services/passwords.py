"""Passphrases: Argon2id hashing and the policy a new passphrase must meet."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from incidents.core.errors import N_, InvalidInput
from incidents.core.settings import CONFIG_DIR

MAX_PASSPHRASE_LENGTH = 1024


@dataclass(frozen=True)
class PasswordHasher:
    """Argon2id with parameters from settings (tests use cheap ones)."""

    time_cost: int
    memory_kib: int
    parallelism: int

    @property
    def _hasher(self) -> Argon2Hasher:
        return _argon2(self.time_cost, self.memory_kib, self.parallelism)

    def hash(self, passphrase: str) -> str:
        return self._hasher.hash(passphrase)

    def verify(self, stored: str, passphrase: str) -> bool:
        try:
            return self._hasher.verify(stored, passphrase)
        except (VerifyMismatchError, VerificationError, InvalidHashError, UnicodeEncodeError):
            return False

    def burn(self, passphrase: str) -> None:
        """Spend the time of a real check, so an unknown pseudonym answers as slowly."""
        self.verify(_dummy_hash(self.time_cost, self.memory_kib, self.parallelism), passphrase)


@cache
def _argon2(time_cost: int, memory_kib: int, parallelism: int) -> Argon2Hasher:
    return Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


@cache
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _argon2(time_cost, memory_kib, parallelism).hash("not a real passphrase")


@cache
def common_passphrases() -> frozenset[str]:
    path = CONFIG_DIR / "common-passphrases.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line and line[0] != "#")


def _has_surrogate(text: str) -> bool:
    """Lone surrogates (from JSON escapes or undecodable bytes) cannot be encoded to hash."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def check_policy(passphrase: str, *, min_length: int, pseudonym: str = "") -> None:
    """Raise InvalidInput (field `passphrase`) unless the passphrase is long and uncommon."""
    if "\x00" in passphrase or "\ufffd" in passphrase or _has_surrogate(passphrase):
        raise InvalidInput(
            N_("The passphrase contains a character we cannot accept."), field="passphrase"
        )
    text = unicodedata.normalize("NFKC", passphrase)
    if len(text) < min_length:
        raise InvalidInput(
            N_("Choose a passphrase of at least %(n)d characters. "
               "Several unrelated words are easy to remember."),
            field="passphrase",
            n=min_length,
        )
    if len(text) > MAX_PASSPHRASE_LENGTH:
        raise InvalidInput(N_("This passphrase is too long."), field="passphrase")
    folded = text.casefold()
    squeezed = "".join(folded.split())
    if (
        folded in common_passphrases()
        or squeezed in common_passphrases()
        or len(set(squeezed)) <= 3
        or (pseudonym and pseudonym.casefold() in folded)
    ):
        raise InvalidInput(
            N_("This passphrase is too easy to guess. Please choose another."),
            field="passphrase",
        )
