"""Users: registration by invitation, sign-in, passphrases, roles and suspension."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.database import unit_of_work
from incidents.core.errors import N_, AuthenticationFailed, Conflict, InvalidInput, NotFound
from incidents.core.settings import Settings
from incidents.models import ApiToken, Invitation, Role, User, UserSession
from incidents.services import audit, pseudonyms, tokens, totp
from incidents.services.passwords import PasswordHasher, check_policy
from incidents.services.secrets import token_hash
from incidents.services.throttle import Throttle, account_key

PSEUDONYM_MIN, PSEUDONYM_MAX = 3, 40
PSEUDONYM_TAKEN = N_("This pseudonym is taken. Please choose another.")
# Bidirectional overrides and isolates can make one name look like another.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
# U+FFFD is what invalid UTF-8 decodes to elsewhere; Werkzeug instead keeps undecodable
# bytes of a form value percent-quoted ("%FF"). Either way the bytes were not text.
_REFUSED = _BIDI_CONTROLS | {"\ufffd"}
_UNDECODED_BYTE = re.compile(r"%[89a-fA-F][0-9a-fA-F]")


@dataclass(frozen=True)
class AccountPolicy:
    """The settings the account rules depend on."""

    hasher: PasswordHasher
    passphrase_min_length: int

    @classmethod
    def from_settings(cls, settings: Settings) -> AccountPolicy:
        return cls(
            hasher=PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_kib,
                                  settings.argon2_parallelism),
            passphrase_min_length=settings.passphrase_min_length,
        )


def normalise_pseudonym(raw: str) -> tuple[str, str]:
    """Return (display form, unique key); raise InvalidInput for names we cannot accept."""
    name = unicodedata.normalize("NFKC", raw or "").strip()
    if not PSEUDONYM_MIN <= len(name) <= PSEUDONYM_MAX:
        raise InvalidInput(
            N_("A pseudonym has %(min)d to %(max)d characters."),
            field="pseudonym", min=PSEUDONYM_MIN, max=PSEUDONYM_MAX,
        )
    if _UNDECODED_BYTE.search(name) or any(
        unicodedata.category(ch).startswith("C") or ch in _REFUSED for ch in name
    ):
        raise InvalidInput(
            N_("The pseudonym contains a character we cannot accept."), field="pseudonym"
        )
    return name, name.casefold()


def check_new_pseudonym(session: Session, display: str, key: str) -> str:
    """A name for a new account: one script, no look-alike characters, and not looking
    like an existing name (TR39 skeletons). Returns its skeleton."""
    if not pseudonyms.is_acceptable(display):
        raise InvalidInput(
            N_("Use letters of one alphabet, digits, spaces and - _ . ' only: this name "
               "mixes alphabets or has characters that imitate others."), field="pseudonym")
    skeleton = pseudonyms.skeleton(display)
    if session.scalar(select(User.id).where(
            or_(User.pseudonym_key == key, User.pseudonym_skeleton == skeleton))) is not None:
        raise Conflict(PSEUDONYM_TAKEN, field="pseudonym")
    return skeleton


def invitation_key(token: str) -> str:
    """The throttle's key for one invitation: probing names through it is slowed."""
    return hashlib.sha256(("invitation:" + (token or "")).encode("utf-8", "replace")).hexdigest()


INVALID_INVITATION = N_("This invitation is not valid. It may have expired or been used already.")


def claim_invitation(session: Session, token: str) -> Invitation:
    """Mark the invitation for `token` used, atomically; one message for every failure.

    The claim is the first statement of the unit of work and a single conditional UPDATE:
    of two concurrent registrations exactly one matches the row. Being a write from the
    start, it also waits for SQLite's lock instead of failing on a stale read snapshot.
    """
    now = utcnow()
    claimed = session.execute(
        update(Invitation)
        .where(
            Invitation.token_hash == token_hash(token or ""),
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidInput(INVALID_INVITATION, field="invitation")
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_hash == token_hash(token or ""))
    )
    if invitation is None:  # pragma: no cover - the UPDATE above just matched it
        raise InvalidInput(INVALID_INVITATION, field="invitation")
    return invitation


def register(
    session: Session,
    policy: AccountPolicy,
    *,
    invitation_token: str,
    pseudonym: str,
    passphrase: str,
    language: str | None = None,
    throttle: Throttle | None = None,
) -> User:
    """Create an account from an invitation; the role comes from the invitation, never the form.

    On any error nothing is kept, and the invitation stays unused. With a throttle,
    every attempt through one invitation counts: someone holding it cannot test unlimited
    names for existence.
    """
    display, key = normalise_pseudonym(pseudonym)
    check_policy(passphrase, min_length=policy.passphrase_min_length, pseudonym=display)
    if throttle is not None:  # each try of a name spends from the invitation's counter
        throttle.reserve(invitation_key(invitation_token))
    password_hash = policy.hasher.hash(passphrase)  # slow: before the claim takes a lock
    with unit_of_work(session):
        invitation = claim_invitation(session, invitation_token)
        skeleton = check_new_pseudonym(session, display, key)
        user = _new_user(session, display, key, role=invitation.role,
                         password_hash=password_hash, language=language,
                         invitation_id=invitation.id, pseudonym_skeleton=skeleton)
        audit.record(session, "invitation_used", actor=user, subject=user,
                     invitation=invitation.id)
    return user


WRONG_CREDENTIALS = N_("The pseudonym, passphrase or code is not correct.")


def _new_user(session: Session, display: str, key: str, *, role: Role, password_hash: str,
              **fields: Any) -> User:
    """A new account row; Conflict if the pseudonym's key is taken (also when a concurrent
    registration took it between the check and the insert)."""
    if session.scalar(select(User.id).where(User.pseudonym_key == key)) is not None:
        raise Conflict(PSEUDONYM_TAKEN, field="pseudonym")
    user = User(pseudonym=display, pseudonym_key=key, public_id=secrets.token_hex(8),
                role=role, password_hash=password_hash, **fields)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as e:  # the same pseudonym registered concurrently
        raise Conflict(PSEUDONYM_TAKEN, field="pseudonym") from e
    return user


def authenticate(
    session: Session,
    policy: AccountPolicy,
    *,
    pseudonym: str,
    passphrase: str,
    totp_code: str | None = None,
    require_totp: bool = False,
    throttle: Throttle | None = None,
) -> User:
    """Check credentials; every failure raises the same AuthenticationFailed, equally slowly.

    With a throttle, the attempt is counted against the account name first (TooManyAttempts
    when it must wait), whether or not such an account exists.
    """
    if throttle is not None:
        throttle.reserve(account_key(pseudonym))
    try:
        _, key = normalise_pseudonym(pseudonym)
    except InvalidInput:
        key = ""
    user = session.scalar(select(User).where(User.pseudonym_key == key)) if key else None
    if user is None:
        policy.hasher.burn(passphrase)
        _refuse(session, WRONG_CREDENTIALS)
    if not policy.hasher.verify(user.password_hash, passphrase) or user.suspended:
        _refuse(session, WRONG_CREDENTIALS, subject=user)
    if (
        require_totp
        and user.needs_totp
        and (not user.totp_enabled or not totp.check_code(session, user, totp_code or ""))
    ):
        # The same words as a wrong passphrase: a right staff passphrase must not show.
        _refuse(session, WRONG_CREDENTIALS, subject=user, reason="second_factor")
    with unit_of_work(session):  # a TOTP step or recovery code just used stays used
        return user


def second_step(session: Session, throttle: Throttle, pending_token: str, code: str) -> User:
    """The code after the passphrase; the account is the one the server-side row names."""
    user = tokens.take_pending(session, pending_token)
    if user is None:
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    throttle.reserve(account_key(user.pseudonym))
    user = second_factor(session, user.id, code)
    with unit_of_work(session):
        tokens.end_pending(session, pending_token)
    return user


def signed_in(throttle: Throttle, user: User) -> None:
    """Every credential step succeeded: the account's attempt counter starts over."""
    throttle.clear(account_key(user.pseudonym))


def second_factor(session: Session, user_id: int, code: str) -> User:
    """The second step of a staff sign-in, after the passphrase was checked."""
    user = session.get(User, user_id)
    if user is None or user.suspended or not totp.check_code(session, user, code):
        _refuse(session, N_("The code from your authenticator app is not correct."),
                field="totp", subject=user, reason="second_factor")
    with unit_of_work(session):
        return user


def _refuse(session: Session, message: str, *, field: str | None = None,
            **audit_details: Any) -> NoReturn:
    """A failed sign-in: its audit record is kept (its own unit of work), then it is refused."""
    with unit_of_work(session):
        audit.record(session, "login_failed", **audit_details)
    raise AuthenticationFailed(message, field=field)


def issue_api_token(session: Session, policy: AccountPolicy, *, pseudonym: str,
                    passphrase: str, totp_code: str | None, name: str,
                    throttle: Throttle | None = None,
                    lifetime: timedelta = tokens.DEFAULT_TOKEN_LIFETIME
                    ) -> tuple[ApiToken, str]:
    """`POST /api/v1/auth/token`: check the credentials (second factor required for staff)
    and create a personal API token that expires; returns its row and its text.

    Not one unit of work around both: a failure's audit record and the attempt counted
    against the account must stay even though no token is made.
    """
    user = authenticate(session, policy, pseudonym=pseudonym, passphrase=passphrase,
                        totp_code=totp_code, require_totp=True, throttle=throttle)
    row, text = tokens.create_api_token(session, user, name, lifetime=lifetime)
    if throttle is not None:
        signed_in(throttle, user)
    return row, text


def change_passphrase(
    session: Session, policy: AccountPolicy, user: User, *, current: str, new: str,
    keep_session: str = "", revoke_tokens: bool = False, throttle: Throttle | None = None,
) -> None:
    """A new passphrase; every other session of the account ends, and its API tokens too
    if asked (someone who knew the old passphrase may hold either)."""
    if throttle is not None:
        throttle.reserve(account_key(user.pseudonym))
    if not policy.hasher.verify(user.password_hash, current):
        raise InvalidInput(N_("Your current passphrase is not correct."), field="current")
    check_policy(new, min_length=policy.passphrase_min_length, pseudonym=user.pseudonym)
    new_hash = policy.hasher.hash(new)  # slow: before the unit of work takes the write lock
    with unit_of_work(session):
        user.password_hash = new_hash
        user.must_change_password = False
        tokens.end_other_sessions(session, user, keep_session)
        if revoke_tokens:
            tokens.revoke_all_api_tokens(session, user)
        audit.record(session, "passphrase_changed", actor=user, subject=user,
                     tokens_revoked=revoke_tokens)


def remove_second_factor(session: Session, policy: AccountPolicy, throttle: Throttle,
                         user: User, *, passphrase: str, code: str) -> None:
    """Remove (or, for staff, start replacing) the factor: needs the passphrase and a code.

    A session and its CSRF token alone are not enough: whoever borrowed an open browser
    must not be able to swap the factor for their own.
    """
    throttle.reserve(account_key(user.pseudonym))
    right = policy.hasher.verify(user.password_hash, passphrase)
    with unit_of_work(session):
        # The code is checked even after a wrong passphrase, so both cost the same time;
        # a step or recovery code used here stays used.
        code_ok = totp.check_code(session, user, code or "")
        if right and code_ok:
            totp.disable(session, user)
        else:
            audit.record(session, "totp_disable_failed", actor=user, subject=user)
    if not (right and code_ok):
        raise InvalidInput(N_("The passphrase or the code is not correct."), field="code")


def create_admin(session: Session, policy: AccountPolicy, username: str) -> tuple[User, str]:
    """An admin with a one-time passphrase that must be changed at first sign-in."""
    display, key = normalise_pseudonym(username)
    one_time = "-".join(secrets.token_hex(3) for _ in range(4))
    password_hash = policy.hasher.hash(one_time)
    with unit_of_work(session):
        skeleton = check_new_pseudonym(session, display, key)
        user = _new_user(session, display, key, role=Role.ADMIN, password_hash=password_hash,
                         must_change_password=True, pseudonym_skeleton=skeleton)
        audit.record(session, "admin_created", subject=user)
    return user, one_time


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def lookup(session: Session, pseudonym: object) -> User | None:
    """The user with this pseudonym as people type it ("Alice" finds `alice`): the one place
    a pseudonym is looked up, always through its normalised key; None if there is none."""
    if not isinstance(pseudonym, str):
        return None
    try:
        _, key = normalise_pseudonym(pseudonym)
    except InvalidInput:
        return None
    return session.scalar(select(User).where(User.pseudonym_key == key))


def find_by_pseudonym(session: Session, pseudonym: str) -> User:
    user = lookup(session, pseudonym)
    if user is None:
        raise NotFound(N_("No such user."))
    return user


def find_staff(session: Session, pseudonym: object, *, field: str) -> User:
    """A reviewer or admin named by pseudonym (assignments, case members)."""
    user = lookup(session, pseudonym)
    if user is None or user.role not in {Role.REVIEWER, Role.ADMIN}:
        raise InvalidInput(N_("No reviewer has this name."), field=field)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.created_at)))


def set_role(session: Session, actor: User, user: User, role: Role) -> None:
    if user.id == actor.id:
        raise InvalidInput(N_("You cannot change your own role."), field="role")
    with unit_of_work(session):
        old = user.role
        user.role = role
        if role.needs_totp and not user.totp_enabled:
            end_all_sessions(session, user)
        audit.record(session, "role_changed", actor=actor, subject=user, old=old.value,
                     new=role.value)


def set_suspended(session: Session, actor: User, user: User, suspended: bool) -> None:
    if user.id == actor.id:
        raise InvalidInput(N_("You cannot suspend yourself."), field="suspended")
    with unit_of_work(session):
        user.suspended = suspended
        if suspended:
            end_all_sessions(session, user)
        audit.record(session, "suspended" if suspended else "unsuspended", actor=actor,
                     subject=user)


def end_all_sessions(session: Session, user: User) -> None:
    for row in session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
        session.delete(row)

