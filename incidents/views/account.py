"""A signed-in user's own account: passphrase, second factor, API tokens."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.core.errors import DomainError
from incidents.services import accounts, tokens
from incidents.web.context import account_policy, settings
from incidents.web.db import get_session
from incidents.web.login import current_session_token
from incidents.web.ratelimits import credential_throttle

blueprint = Blueprint("account", __name__, url_prefix="/account")


def _page(status: int = 200, **context: object) -> tuple[str, int]:
    user = current_user.user
    return render_template(
        "account/index.html", user=user, tokens=tokens.list_api_tokens(get_session(), user),
        **context,
    ), status


@blueprint.get("/")
def index() -> tuple[str, int]:
    return _page()


@blueprint.route("/passphrase", methods=["GET", "POST"])
def passphrase() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        return render_template("account/passphrase.html")
    db = get_session()
    revoke = request.form.get("revoke_tokens") == "yes"
    try:
        accounts.change_passphrase(
            db, account_policy(), current_user.user,
            current=request.form.get("current", ""), new=request.form.get("new", ""),
            keep_session=current_session_token(), revoke_tokens=revoke,
            throttle=credential_throttle(),
        )
    except DomainError as error:
        return render_template("account/passphrase.html", error=error), error.status
    flash(_("Your passphrase was changed. You were signed out everywhere else."))
    if revoke:
        flash(_("Your API tokens were revoked."))
    return redirect(url_for("account.index"))


@blueprint.post("/tokens")
def create_token() -> Response | tuple[str, int]:
    db = get_session()
    try:
        row, token = tokens.create_api_token(
            db, current_user.user, request.form.get("name", ""),
            lifetime=timedelta(days=settings().api_token_days))
    except DomainError as error:
        return _page(error.status, error=error)
    return _page(201, new_token=token, new_token_expires=row.expires_at)


@blueprint.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Response:
    db = get_session()
    tokens.revoke_api_token(db, current_user.user, token_id)
    flash(_("The token was revoked."))
    return redirect(url_for("account.index"))


@blueprint.post("/totp/disable")
def disable_totp() -> Response | tuple[str, int]:
    """Contributors may drop an optional factor; staff re-enrol at once. Both need the
    passphrase and a current code (or a recovery code)."""
    db = get_session()
    try:
        accounts.remove_second_factor(db, account_policy(), credential_throttle(),
                                      current_user.user,
                                      passphrase=request.form.get("passphrase", ""),
                                      code=request.form.get("code", ""))
    except DomainError as error:  # the service kept the audit record and the used step
        return _page(error.status, error=error)
    return redirect(url_for("auth.totp_setup"))
