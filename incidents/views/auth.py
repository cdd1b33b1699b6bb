"""Sign-in, registration by invitation, sign-out, second-factor enrolment."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.db import get_session
from incidents.errors import DomainError
from incidents.extensions import limiter
from incidents.login import sign_in, sign_out
from incidents.ratelimits import login_key
from incidents.services import accounts, totp
from incidents.services.qrcodes import qr_svg
from incidents.views.common import account_policy, safe_next, settings

blueprint = Blueprint("auth", __name__)


def _login_limit() -> str:
    return settings().login_rate_limit


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=login_key, methods=["POST"])
def login() -> Response | str | tuple[str, int]:
    next_url = safe_next(request.values.get("next"), url_for("account.index"))
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url)
    db = get_session()
    pending = session.get("pending_user")
    try:
        if pending and "totp" in request.form:
            user = accounts.second_factor(db, pending, request.form.get("totp", ""))
        else:
            session.pop("pending_user", None)
            user = accounts.authenticate(
                db,
                account_policy(),
                pseudonym=request.form.get("pseudonym", ""),
                passphrase=request.form.get("passphrase", ""),
            )
    except DomainError:
        db.commit()  # keep the audit record of the failure
        return render_template("auth/login.html", next=next_url, failed=True), 401
    if user.needs_totp and user.totp_enabled and not pending:
        db.commit()
        session["pending_user"] = user.id
        return render_template("auth/login.html", next=next_url, ask_totp=True)
    db.commit()
    sign_in(user)
    return redirect(next_url)


@blueprint.route("/register", methods=["GET", "POST"])
def register() -> Response | str | tuple[str, int]:
    token = request.values.get("invitation", "")
    if request.method == "GET":
        return render_template("auth/register.html", invitation=token)
    db = get_session()
    try:
        user = accounts.register(
            db,
            account_policy(),
            invitation_token=token,
            pseudonym=request.form.get("pseudonym", ""),
            passphrase=request.form.get("passphrase", ""),
            language=session.get("lang"),
        )
    except DomainError as error:
        db.rollback()
        return render_template("auth/register.html", invitation=token, error=error,
                               pseudonym=request.form.get("pseudonym", "")), error.status
    db.commit()
    sign_in(user)
    flash(_("Welcome. Your account is ready."))
    if user.totp_pending:
        return redirect(url_for("auth.totp_setup"))
    return redirect(url_for("account.index"))


@blueprint.post("/logout")
def logout() -> Response:
    sign_out()
    return redirect(url_for("main.index"))


@blueprint.route("/totp", methods=["GET", "POST"])
def totp_setup() -> Response | str | tuple[str, int]:
    db = get_session()
    user = current_user.user
    if request.method == "GET" or not user.totp_secret:
        if not user.totp_secret or user.totp_enabled:
            totp.begin_enrolment(user)
            db.commit()
        return render_template("auth/totp_setup.html", secret=user.totp_secret)
    try:
        codes = totp.confirm_enrolment(db, user, request.form.get("code", ""))
    except DomainError as error:
        db.rollback()
        return render_template("auth/totp_setup.html", secret=user.totp_secret,
                               error=error), error.status
    db.commit()
    return render_template("auth/recovery_codes.html", codes=codes)


@blueprint.get("/totp/qr.svg")
def totp_qr() -> Response:
    """The enrolment QR code, drawn here: the secret never goes to another service."""
    user = current_user.user
    uri = totp.provisioning_uri(user, settings().site_name)
    return Response(qr_svg(uri), mimetype="image/svg+xml",
                    headers={"Cache-Control": "no-store"})
