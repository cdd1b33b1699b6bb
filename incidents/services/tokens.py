"""Server-side login sessions and personal API tokens; both stored only as hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core import fields
from incidents.core.clock import utcnow
from incidents.core.database import unit_of_work
from incidents.core.errors import N_, NotFound
from incidents.models import ApiToken, User, UserSession
from incidents.services import audit
from incidents.services.secrets import new_token, token_hash

# Touch last_seen at most this often, so reads do not turn into writes.
TOUCH_INTERVAL = timedelta(seconds=60)
MAX_TOKEN_NAME = 80


@dataclass(frozen=True)
class SessionLifetimes:
    staff: timedelta
    contributor: timedelta

    def for_user(self, user: User) -> timedelta:
        return self.staff if user.role.value != "contributor" else self.contributor


def start_session(session: Session, user: User) -> str:
    """A new random session id for each sign-in (no fixation); returns the token."""
    token = new_token()
    with unit_of_work(session):
        session.add(UserSession(token_hash=token_hash(token), user_id=user.id))
        audit.record(session, "login", actor=user, subject=user)
    return token


def load_session(session: Session, token: str, lifetimes: SessionLifetimes) -> User | None:
    """The user of a live session, or None (expired, ended, suspended)."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None:
        return None
    user = row.user
    now = utcnow()
    if user.suspended or now - row.last_seen_at > lifetimes.for_user(user):
        with unit_of_work(session):
            session.delete(row)
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        _touch(session, row, "last_seen_at", now)
    return user


def _touch(session: Session, row: UserSession | ApiToken, column: str, now: datetime) -> None:
    """Record a use in a short writer transaction of its own (never a stale read upgraded)."""
    with unit_of_work(session):
        setattr(row, column, now)


def end_session(session: Session, token: str) -> None:
    with unit_of_work(session):
        row = session.scalar(select(UserSession).where(
            UserSession.token_hash == token_hash(token)))
        if row is not None:
            session.delete(row)


def create_api_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A personal API token; the token text is returned once and never stored."""
    name = fields.line(name, "name", max_length=MAX_TOKEN_NAME,
                       message=N_("The token name is too long or has control characters."))
    token = new_token("evd_")
    with unit_of_work(session):
        row = ApiToken(user_id=user.id, token_hash=token_hash(token), prefix=token[:10],
                       name=name)
        session.add(row)
        session.flush()
        audit.record(session, "token_created", actor=user, subject=user, token=row.id)
    return row, token


def load_api_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or row.user.suspended:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOUCH_INTERVAL:
        _touch(session, row, "last_used_at", now)
    return row.user


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at)
        )
    )


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    with unit_of_work(session):
        row = session.get(ApiToken, token_id)
        # Someone else's token is "not found", the same as a token that does not exist.
        if row is None or row.user_id != user.id or row.revoked_at is not None:
            raise NotFound()
        row.revoked_at = utcnow()
        audit.record(session, "token_revoked", actor=user, subject=user, token=row.id)
