"""Server-side login sessions and personal API tokens; both stored only as hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

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
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)


# How long the second-factor step may follow the passphrase.
PENDING_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class SessionLifetimes:
    """Idle limits, and absolute ones: a session ends that long after sign-in, used or not."""

    staff: timedelta
    contributor: timedelta
    staff_absolute: timedelta = timedelta(hours=12)
    contributor_absolute: timedelta = timedelta(days=30)

    def for_user(self, user: User) -> timedelta:
        return self.staff if user.role.value != "contributor" else self.contributor

    def absolute_for(self, user: User) -> timedelta:
        return self.staff_absolute if user.role.value != "contributor" \
            else self.contributor_absolute


def start_session(session: Session, user: User) -> str:
    """A new random session id for each sign-in (no fixation); returns the token."""
    token = new_token()
    with unit_of_work(session):
        session.add(UserSession(token_hash=token_hash(token), user_id=user.id))
        audit.record(session, "login", actor=user, subject=user)
    return token


def start_pending(session: Session, user: User) -> str:
    """The passphrase was right: a server-side row for the second step; returns its token."""
    token = new_token()
    with unit_of_work(session):
        session.add(UserSession(token_hash=token_hash(token), user_id=user.id, pending=True))
    return token


def take_pending(session: Session, token: str) -> User | None:
    """The user whose passphrase step `token` proves, if recent; the row is used up."""
    row = session.scalar(select(UserSession).where(
        UserSession.token_hash == token_hash(token or ""), UserSession.pending.is_(True)))
    if row is None:
        return None
    user = row.user
    if utcnow() - row.created_at > PENDING_LIFETIME or user.suspended:
        with unit_of_work(session):
            session.delete(row)
        return None
    return user


def pending_is_live(session: Session, token: str) -> bool:
    row = session.scalar(select(UserSession).where(
        UserSession.token_hash == token_hash(token or ""), UserSession.pending.is_(True)))
    return row is not None and utcnow() - row.created_at <= PENDING_LIFETIME


def end_pending(session: Session, token: str) -> None:
    with unit_of_work(session):
        session.execute(delete(UserSession).where(
            UserSession.token_hash == token_hash(token or ""), UserSession.pending.is_(True)))


def load_session(session: Session, token: str, lifetimes: SessionLifetimes) -> User | None:
    """The user of a live session, or None (expired, ended, suspended, still pending)."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.pending:
        return None
    user = row.user
    now = utcnow()
    if (user.suspended or now - row.last_seen_at > lifetimes.for_user(user)
            or now - row.created_at > lifetimes.absolute_for(user)):
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


def create_api_token(session: Session, user: User, name: str = "",
                     lifetime: timedelta = DEFAULT_TOKEN_LIFETIME) -> tuple[ApiToken, str]:
    """A personal API token that expires; the token text is returned once, never stored."""
    name = fields.line(name, "name", max_length=MAX_TOKEN_NAME,
                       message=N_("The token name is too long or has control characters."))
    token = new_token("evd_")
    with unit_of_work(session):
        row = ApiToken(user_id=user.id, token_hash=token_hash(token), prefix=token[:10],
                       name=name, expires_at=utcnow() + lifetime)
        session.add(row)
        session.flush()
        audit.record(session, "token_created", actor=user, subject=user, token=row.id)
    return row, token


def load_api_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                         .where(ApiToken.token_hash == token_hash(token)))
    now = utcnow()
    if (row is None or row.revoked_at is not None or row.user.suspended
            or (row.expires_at is not None and row.expires_at <= now)):
        return None
    if row.last_used_at is None or now - row.last_used_at > TOUCH_INTERVAL:
        _touch(session, row, "last_used_at", now)
    return row.user


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
                   (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > utcnow()))
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


def revoke_all_api_tokens(session: Session, user: User) -> int:
    """Revoke every live token of `user` (after a passphrase change); returns how many.
    A building block: runs in the caller's unit of work."""
    rows = list_api_tokens(session, user)
    for row in rows:
        row.revoked_at = utcnow()
    if rows:
        audit.record(session, "tokens_revoked", actor=user, subject=user, count=len(rows))
    return len(rows)


def end_other_sessions(session: Session, user: User, keep_token: str) -> None:
    """Every session of `user` but the one holding `keep_token` ends now (a building
    block, in the caller's unit of work)."""
    session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                              UserSession.token_hash != token_hash(keep_token)))
