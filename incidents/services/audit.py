"""The security audit log: what happened to whom, never content, never addresses."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from incidents.models import AuditEvent, User


def record(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    subject: User | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the caller's unit of work (committed with it)."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        subject_id=subject.id if subject else None,
        details=details,
    )
    session.add(event)
    return event
