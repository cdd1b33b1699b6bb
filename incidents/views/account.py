"""A signed-in user's own account: passphrase, second factor, API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.core.errors import DomainError
from incidents.services import accounts, tokens, totp
from incidents.web.context import account_policy
from incidents.web.db import get_session

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
    try:
        accounts.change_passphrase(
            db, account_policy(), current_user.user,
            current=request.form.get("current", ""), new=request.form.get("new", ""),
        )
    except DomainError as error:
        return render_template("account/passphrase.html", error=error), error.status
    flash(_("Your passphrase was changed."))
    return redirect(url_for("account.index"))


@blueprint.post("/tokens")
def create_token() -> Response | tuple[str, int]:
    db = get_session()
    try:
        _row, token = tokens.create_api_token(db, current_user.user, request.form.get("name", ""))
    except DomainError as error:
        return _page(error.status, error=error)
    return _page(201, new_token=token)


@blueprint.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Response:
    db = get_session()
    tokens.revoke_api_token(db, current_user.user, token_id)
    flash(_("The token was revoked."))
    return redirect(url_for("account.index"))


@blueprint.post("/totp/disable")
def disable_totp() -> Response:
    """Contributors may drop an optional factor; staff re-enrol at once."""
    db = get_session()
    totp.disable(db, current_user.user)
    return redirect(url_for("auth.totp_setup"))
