"""Invitations: the only way in. Tokens are shown once and stored as hashes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core import fields
from incidents.core.clock import utcnow
from incidents.core.database import unit_of_work
from incidents.core.errors import N_, InvalidInput, NotFound
from incidents.models import Invitation, Role, User
from incidents.services import audit
from incidents.services.secrets import new_token, token_hash

MAX_NOTE = 200
MAX_DAYS = 90


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as e:
        raise InvalidInput(N_("Unknown role."), field="role") from e


def parse_duration(text: str) -> timedelta:
    """'7d', '12h' or '30m' (or plain days); at most MAX_DAYS."""
    text = (text or "").strip().lower()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    unit = units.get(text[-1:])
    number = text[:-1] if unit else text
    if not number.isdigit() or len(number) > 6 or int(number) <= 0:
        raise InvalidInput(N_("Give a duration such as 7d, 12h or 30m."), field="expires")
    duration = timedelta(**{unit or "days": int(number)})
    if duration > timedelta(days=MAX_DAYS):
        raise InvalidInput(N_("An invitation may be valid for at most 90 days."),
                           field="expires")
    return duration


def create(
    session: Session,
    *,
    role: Role,
    expires_in: timedelta,
    note: str = "",
    actor: User | None = None,
) -> tuple[Invitation, str]:
    """Create an invitation; returns it with its token, which is never stored."""
    note = fields.line(note, "note", max_length=MAX_NOTE,
                       message=N_("The note is too long or has control characters."))
    token = new_token("inv_")
    with unit_of_work(session):
        invitation = Invitation(
            token_hash=token_hash(token),
            role=role,
            note=note,
            created_by_id=actor.id if actor else None,
            expires_at=utcnow() + expires_in,
        )
        session.add(invitation)
        session.flush()
        audit.record(session, "invitation_created", actor=actor, invitation=invitation.id,
                     role=role.value)
    return invitation, token


def list_open(session: Session) -> list[Invitation]:
    return list(
        session.scalars(
            select(Invitation)
            .where(Invitation.used_at.is_(None), Invitation.revoked_at.is_(None),
                   Invitation.expires_at > utcnow())
            .order_by(Invitation.created_at.desc())
        )
    )


def revoke(session: Session, actor: User, invitation_id: int) -> None:
    with unit_of_work(session):
        invitation = session.get(Invitation, invitation_id)
        if invitation is None:
            raise NotFound()
        invitation.revoked_at = utcnow()
        audit.record(session, "invitation_revoked", actor=actor, invitation=invitation.id)
