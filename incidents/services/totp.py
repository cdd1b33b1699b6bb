"""TOTP second factor (RFC 6238) with replay protection, and one-time recovery codes."""

from __future__ import annotations

import secrets
import time

import pyotp
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.database import unit_of_work
from incidents.core.errors import N_, InvalidInput
from incidents.models import RecoveryCode, User
from incidents.services import audit
from incidents.services.secrets import same, token_hash

STEP_SECONDS = 30
RECOVERY_CODES = 10


def begin_enrolment(user: User) -> str:
    """Give the user a fresh, not yet active secret; returns it (base32) for the QR code."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled = False
    return user.totp_secret


def start_enrolment(session: Session, user: User) -> str:
    """`begin_enrolment`, saved: the secret the QR code shows must survive the request."""
    with unit_of_work(session):
        return begin_enrolment(user)


def provisioning_uri(user: User, issuer: str) -> str:
    if not user.totp_secret:
        raise InvalidInput(N_("Start the enrolment first."), field="totp")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.pseudonym, issuer_name=issuer)


def confirm_enrolment(session: Session, user: User, code: str) -> list[str]:
    """Activate the factor if `code` is right; returns the recovery codes, shown once."""
    with unit_of_work(session):
        if not user.totp_secret or not _accept(user, code):
            raise InvalidInput(N_("The code from your authenticator app is not correct."),
                               field="totp")
        user.totp_enabled = True
        user.recovery_codes.clear()
        codes = ["-".join(secrets.token_hex(2) for _ in range(3))
                 for _ in range(RECOVERY_CODES)]
        for code_text in codes:
            user.recovery_codes.append(RecoveryCode(code_hash=token_hash(code_text)))
        audit.record(session, "totp_enrolled", actor=user, subject=user)
    return codes


def check_code(session: Session, user: User, code: str) -> bool:
    """A current TOTP code not used before, or an unused recovery code."""
    if user.totp_secret and user.totp_enabled and _accept(user, code):
        return True
    wanted = token_hash(code.strip().lower())
    for recovery in user.recovery_codes:
        if recovery.used_at is None and same(recovery.code_hash, wanted):
            recovery.used_at = utcnow()
            audit.record(session, "recovery_code_used", actor=user, subject=user)
            return True
    return False


def _accept(user: User, code: str) -> bool:
    """Accept the code for the current step or the one either side, each step only once."""
    digits = "".join(code.split())
    if not (digits.isdigit() and len(digits) == 6) or not user.totp_secret:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now_step = int(time.time()) // STEP_SECONDS
    for step in (now_step - 1, now_step, now_step + 1):
        if step <= (user.totp_last_step or 0):
            continue  # a code from this step was already used: a replay
        if same(totp.at(step * STEP_SECONDS), digits):
            user.totp_last_step = step
            return True
    return False


def disable(session: Session, user: User) -> None:
    with unit_of_work(session):
        user.totp_secret = None
        user.totp_enabled = False
        user.recovery_codes.clear()
        audit.record(session, "totp_disabled", actor=user, subject=user)
