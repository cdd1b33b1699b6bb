"""The one clock and the one timestamp format of every answer (RFC 3339 UTC, `Z` suffix)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(when: datetime | None) -> str | None:
    """`2022-01-05T14:30:00Z`; None stays None (JSON null)."""
    return when.isoformat().replace("+00:00", "Z") if when else None
