"""Enrolment and sign-in for apps: register with an invitation, get a token, who am I."""

from __future__ import annotations

from datetime import timedelta

from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.auth import MeOut, RegisteredOut, RegisterIn, TokenIn, TokenOut
from incidents.api.v1.schemas.base import documented, reply
from incidents.core.clock import iso
from incidents.core.errors import N_, InvalidInput
from incidents.services import accounts
from incidents.web.context import account_policy, settings
from incidents.web.db import get_session
from incidents.web.ratelimits import credential_throttle


@blueprint.post("/auth/register")
@documented("Create an account with an invitation", body=RegisterIn, response=RegisteredOut,
            status=201, errors=(409, 413), public=True)
def register(body: RegisterIn) -> Response:
    if body.language is not None and body.language not in settings().languages:
        raise InvalidInput(N_("This language is not available."), field="language")
    user = accounts.register(get_session(), account_policy(), invitation_token=body.invitation,
                             pseudonym=body.pseudonym, passphrase=body.passphrase,
                             language=body.language, throttle=credential_throttle())
    return reply(RegisteredOut(pseudonym=user.pseudonym, role=user.role.value), 201)


@blueprint.post("/auth/token")
@documented("Exchange credentials (and a TOTP code for staff) for a personal token",
            body=TokenIn, response=TokenOut, status=201, errors=(429,), public=True)
def token(body: TokenIn) -> Response:
    row, text = accounts.issue_api_token(
        get_session(), account_policy(), pseudonym=body.pseudonym, passphrase=body.passphrase,
        totp_code=body.totp, name=body.name, throttle=credential_throttle(),
        lifetime=timedelta(days=settings().api_token_days))
    return reply(TokenOut(token=text, expires_at=iso(row.expires_at)), 201)


@blueprint.get("/me")
@documented("The signed-in user's pseudonym and role", response=MeOut)
def me() -> Response:
    user = current_user.user
    return reply(MeOut(pseudonym=user.pseudonym, role=user.role.value,
                       totp_enabled=user.totp_enabled))
