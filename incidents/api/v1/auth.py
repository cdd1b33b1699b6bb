"""Enrolment and sign-in for apps: register with an invitation, get a token, who am I."""

from __future__ import annotations

from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.auth import MeOut, RegisteredOut, RegisterIn, TokenIn, TokenOut
from incidents.api.v1.schemas.base import documented, reply
from incidents.core.errors import N_, AuthenticationFailed, InvalidInput
from incidents.services import accounts, tokens
from incidents.web.context import account_policy, settings
from incidents.web.db import get_session
from incidents.web.extensions import limiter
from incidents.web.ratelimits import LOGIN_SCOPE, login_key


def _login_limit() -> str:
    return settings().login_rate_limit


@blueprint.post("/auth/register")
@documented("Create an account with an invitation", body=RegisterIn, response=RegisteredOut,
            status=201, errors=(409, 413), public=True)
def register(body: RegisterIn) -> Response:
    if body.language is not None and body.language not in settings().languages:
        raise InvalidInput(N_("This language is not available."), field="language")
    db = get_session()
    user = accounts.register(db, account_policy(), invitation_token=body.invitation,
                             pseudonym=body.pseudonym, passphrase=body.passphrase,
                             language=body.language)
    db.commit()
    return reply(RegisteredOut(pseudonym=user.pseudonym, role=user.role.value), 201)


@blueprint.post("/auth/token")
@limiter.shared_limit(_login_limit, scope=LOGIN_SCOPE, key_func=login_key)
@documented("Exchange credentials (and a TOTP code for staff) for a personal token",
            body=TokenIn, response=TokenOut, status=201, errors=(429,), public=True)
def token(body: TokenIn) -> Response:
    db = get_session()
    try:
        user = accounts.authenticate(db, account_policy(), pseudonym=body.pseudonym,
                                     passphrase=body.passphrase, totp_code=body.totp,
                                     require_totp=True)
    except AuthenticationFailed:
        db.commit()  # keep the audit record of the failure
        raise
    _row, text = tokens.create_api_token(db, user, body.name)
    db.commit()
    return reply(TokenOut(token=text), 201)


@blueprint.get("/me")
@documented("The signed-in user's pseudonym and role", response=MeOut)
def me() -> Response:
    user = current_user.user
    return reply(MeOut(pseudonym=user.pseudonym, role=user.role.value,
                       totp_enabled=user.totp_enabled))
