"""The vault's unseal key as k-of-n SLIP-39 recovery shares (``shamir-mnemonic``).

A share is a mnemonic of 33 words (for a 256-bit secret) carrying its set's identifier, its
group and member index and the threshold, so a share from another vault is recognised before
any arithmetic, and one share short says how many are missing. One group; the member threshold
is the k of k-of-n. No SLIP-39 passphrase: the shares alone are the secret (a passphrase kept
by the operator is the other unseal method, Argon2id, in ``key_directory``).
"""

from __future__ import annotations

from dataclasses import dataclass

import shamir_mnemonic
from shamir_mnemonic import MnemonicError, Share

from storage.errors import ForeignShare, WrongShares

# SLIP-39 stretches the (empty) passphrase with PBKDF2 of 10000 × 2^e rounds; with no
# passphrase that buys nothing, so the cheapest exponent keeps unsealing quick.
ITERATION_EXPONENT = 0
MAX_SHARES = 16


@dataclass(frozen=True)
class ShareInfo:
    """What a share says about itself (all of it public: no secret in these numbers)."""

    identifier: int
    member_index: int
    threshold: int


def split(secret: bytes, *, shares: int, threshold: int) -> tuple[int, list[str]]:
    """Split ``secret`` into ``shares`` mnemonics, any ``threshold`` of which recover it."""
    if not 1 <= threshold <= shares <= MAX_SHARES:
        raise ValueError(f"need 1 <= threshold <= shares <= {MAX_SHARES}")
    if threshold == 1 and shares > 1:
        # SLIP-39 refuses 1-of-n with n > 1 (every share would be the secret itself).
        raise ValueError("a threshold of 1 allows only one share")
    mnemonics = shamir_mnemonic.generate_mnemonics(
        1, [(threshold, shares)], secret, iteration_exponent=ITERATION_EXPONENT)[0]
    return Share.from_mnemonic(mnemonics[0]).identifier, mnemonics


def normalise(mnemonic: str) -> str:
    """One space between words, lower case: how trustees type them is not how they are kept."""
    return " ".join(mnemonic.lower().split())


def inspect(mnemonic: str, identifier: int) -> ShareInfo:
    """Parse one share and check it belongs to the vault with ``identifier``."""
    try:
        share = Share.from_mnemonic(normalise(mnemonic))
    except (MnemonicError, ValueError) as e:
        raise WrongShares("this is not a valid recovery share (a word is wrong or missing)") from e
    if share.identifier != identifier:
        raise ForeignShare("this recovery share belongs to another vault")
    return ShareInfo(share.identifier, share.index, share.member_threshold)


def combine(mnemonics: list[str]) -> bytes:
    """Recover the secret from at least ``threshold`` shares of one set."""
    try:
        return shamir_mnemonic.combine_mnemonics([normalise(m) for m in mnemonics])
    except (MnemonicError, ValueError) as e:
        # Not the library's message: it quotes the first words of a share.
        raise WrongShares("the recovery shares do not combine into this vault's key") from e
