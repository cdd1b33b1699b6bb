"""Sign-in, registration by invitation, sign-out, second-factor enrolment."""

from __future__ import annotations

import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.core.errors import DomainError, NotFound
from incidents.services import accounts, totp
from incidents.services.qrcodes import qr_svg
from incidents.web.context import account_policy, settings
from incidents.web.db import get_session
from incidents.web.extensions import limiter
from incidents.web.http.forms import safe_next
from incidents.web.login import sign_in, sign_out
from incidents.web.ratelimits import LOGIN_SCOPE, login_key

blueprint = Blueprint("auth", __name__)
PENDING_USER, PENDING_SINCE = "pending_user", "pending_since"
PENDING_SECONDS = 300  # between the passphrase and the second-factor step


def _login_limit() -> str:
    return settings().login_rate_limit


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.shared_limit(_login_limit, scope=LOGIN_SCOPE, key_func=login_key, methods=["POST"])
def login() -> Response | str | tuple[str, int]:
    next_url = safe_next(request.values.get("next"), url_for("account.index"))
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url)
    db = get_session()
    pending = _pending_user()
    try:
        if pending is not None and "totp" in request.form:
            user = accounts.second_factor(db, pending, request.form.get("totp", ""))
        else:
            # A passphrase step starts over: whatever was pending no longer counts.
            pending = None
            session.pop(PENDING_USER, None)
            session.pop(PENDING_SINCE, None)
            user = accounts.authenticate(
                db,
                account_policy(),
                pseudonym=request.form.get("pseudonym", ""),
                passphrase=request.form.get("passphrase", ""),
            )
    except DomainError:  # the service kept the audit record of the failure
        return render_template("auth/login.html", next=next_url, failed=True,
                               ask_totp=pending is not None), 401
    if user.needs_totp and user.totp_enabled and pending is None:
        session[PENDING_USER] = user.id
        session[PENDING_SINCE] = int(time.time())
        return render_template("auth/login.html", next=next_url, ask_totp=True)
    sign_in(user)
    return redirect(next_url)


def _pending_user() -> int | None:
    """The account whose passphrase was just checked, if that was recent enough.

    The session cookie is signed, not stored: without the time limit an old cookie
    would let the second step be tried long after the passphrase changed.
    """
    user_id, since = session.get(PENDING_USER), session.get(PENDING_SINCE)
    if not isinstance(user_id, int) or not isinstance(since, int):
        return None
    if not 0 <= time.time() - since <= PENDING_SECONDS:
        return None
    return user_id


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
        return render_template("auth/register.html", invitation=token, error=error,
                               pseudonym=request.form.get("pseudonym", "")), error.status
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
    if user.totp_enabled:
        # Never reset an active factor here: a GET can be triggered from another site.
        # Replacing it goes through the CSRF-protected `account.disable_totp` first.
        flash(_("Your second factor is active. To replace it, remove it first."))
        return redirect(url_for("account.index"))
    if request.method == "GET" or not user.totp_secret:
        if not user.totp_secret:
            totp.start_enrolment(db, user)
        return render_template("auth/totp_setup.html", secret=user.totp_secret)
    try:
        codes = totp.confirm_enrolment(db, user, request.form.get("code", ""))
    except DomainError as error:
        return render_template("auth/totp_setup.html", secret=user.totp_secret,
                               error=error), error.status
    return render_template("auth/recovery_codes.html", codes=codes)


@blueprint.get("/totp/qr.svg")
def totp_qr() -> Response:
    """The enrolment QR code, drawn here: the secret never goes to another service."""
    user = current_user.user
    if user.totp_enabled:
        raise NotFound()  # an active secret is never shown again
    uri = totp.provisioning_uri(user, settings().site_name)
    return Response(qr_svg(uri), mimetype="image/svg+xml",
                    headers={"Cache-Control": "no-store"})
