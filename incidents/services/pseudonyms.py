"""Look-alike pseudonyms: Unicode TR39 (security mechanisms) through ICU's spoof checker.

A pseudonym must be written in one script (Latin or Cyrillic, say, not both: Cyrillic `а`
in `аdmin`), with letters, marks, digits and a few ASCII separators only (no look-alike
hyphens such as U+2010, no invisible or default-ignorable characters such as the Hangul
filler U+1160), and its TR39 skeleton must differ from every existing pseudonym's, so that
`rev_оne`, `reviewer-l` or `аdmin` cannot pass for `rev_one`, `reviewer-1` or `admin`.
"""

from __future__ import annotations

import threading
import unicodedata

import icu

# Separators a name may use besides letters, marks and digits: ASCII only, so that no
# look-alike dash, dot or quote from elsewhere in Unicode can imitate them.
SEPARATORS = frozenset(" -_.'")
SKELETON_MAX = 200
_local = threading.local()


def _checker() -> icu.SpoofChecker:
    """One checker per thread: ICU's is not documented as safe to share while checking."""
    checker = getattr(_local, "checker", None)
    if checker is None:
        checker = icu.SpoofChecker()
        checker.setChecks(icu.USpoofChecks.RESTRICTION_LEVEL | icu.USpoofChecks.INVISIBLE
                          | icu.USpoofChecks.MIXED_NUMBERS)
        checker.setRestrictionLevel(icu.URestrictionLevel.HIGHLY_RESTRICTIVE)
        _local.checker = checker
    return checker


def _allowed(ch: str) -> bool:
    if ch in SEPARATORS:
        return True
    if icu.Char.hasBinaryProperty(ch, icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT):
        return False
    return unicodedata.category(ch)[0] in "LM" or unicodedata.category(ch) == "Nd"


def is_acceptable(name: str) -> bool:
    """One script, and nothing but letters, marks, digits and ASCII separators."""
    return all(_allowed(ch) for ch in name) and _checker().check(name) == 0


def skeleton(name: str) -> str:
    """The TR39 skeleton of a name as sign-in compares names (case-folded): equal
    skeletons look alike."""
    return str(_checker().getSkeleton(0, name.casefold()))[:SKELETON_MAX]
