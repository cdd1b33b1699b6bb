"""Evidence integrity checks and originals (staff; each a custody event)."""

from __future__ import annotations

from typing import Any

from incidents.api.v1.schemas.base import Out

ORIGINAL = {"responses": {"200": {
    "description": "The original bytes, as an attachment (a custody event names you first)",
    "content": {"application/octet-stream": {"schema": {"type": "string",
                                                        "format": "binary"}}}}}}


class IntegrityOut(Out):
    item: str
    ok: bool
    problem: str | None
    custody_event: int | None

    @classmethod
    def of(cls, item: str, result: Any) -> IntegrityOut:
        return cls(item=item, ok=result.ok, problem=result.problem,
                   custody_event=result.event_seq)
