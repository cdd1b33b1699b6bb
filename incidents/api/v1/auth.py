"""Enrolment and sign-in for apps: register with an invitation, get a token, who am I."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint, json_body, string_field
from incidents.core.errors import N_, InvalidInput
from incidents.services import accounts
from incidents.web.context import account_policy, settings
from incidents.web.db import get_session
from incidents.web.extensions import limiter
from incidents.web.ratelimits import LOGIN_SCOPE, login_key


def _login_limit() -> str:
    return settings().login_rate_limit


@blueprint.post("/auth/register")
def register() -> tuple[Response, int]:
    data = json_body({"invitation", "pseudonym", "passphrase", "language"})
    language = data.get("language")
    if language is not None and language not in settings().languages:
        raise InvalidInput(N_("This language is not available."), field="language")
    db = get_session()
    user = accounts.register(
        db,
        account_policy(),
        invitation_token=string_field(data, "invitation"),
        pseudonym=string_field(data, "pseudonym", max_length=200),
        passphrase=string_field(data, "passphrase"),
        language=language,
    )
    return jsonify({"pseudonym": user.pseudonym, "role": user.role.value}), 201


@blueprint.post("/auth/token")
@limiter.shared_limit(_login_limit, scope=LOGIN_SCOPE, key_func=login_key)
def token() -> tuple[Response, int]:
    data = json_body({"pseudonym", "passphrase", "totp", "name"})
    text = accounts.issue_api_token(
        get_session(),
        account_policy(),
        pseudonym=string_field(data, "pseudonym", max_length=200),
        passphrase=string_field(data, "passphrase"),
        totp_code=string_field(data, "totp", required=False, max_length=20),
        name=string_field(data, "name", required=False, max_length=80),
    )
    return jsonify({"token": text}), 201


@blueprint.get("/me")
def me() -> Response:
    user = current_user.user
    return jsonify({"pseudonym": user.pseudonym, "role": user.role.value,
                    "totp_enabled": user.totp_enabled})
