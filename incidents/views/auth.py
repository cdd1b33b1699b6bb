"""Sign-in, registration by invitation, sign-out, second-factor enrolment."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.core.errors import AuthenticationFailed, DomainError, NotFound
from incidents.services import accounts, tokens, totp
from incidents.services.qrcodes import qr_svg
from incidents.web.context import account_policy, settings
from incidents.web.db import get_session
from incidents.web.http.forms import safe_next
from incidents.web.login import sign_in, sign_out
from incidents.web.ratelimits import credential_throttle

blueprint = Blueprint("auth", __name__)
# The session key holding the token of the server-side row of a half-done sign-in.
PENDING = "pending_sign_in"


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    next_url = safe_next(request.values.get("next"), url_for("account.index"))
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url)
    db = get_session()
    pending_token = session.get(PENDING)
    asked_code = isinstance(pending_token, str) and "totp" in request.form
    try:
        if asked_code:
            # The server-side row names the account, never the form: an extra `pseudonym`
            # field changes nothing, and the attempt spends from that account's counter.
            user = accounts.second_step(db, credential_throttle(), str(pending_token),
                                        request.form.get("totp", ""))
        else:
            user = accounts.authenticate(
                db, account_policy(), pseudonym=request.form.get("pseudonym", ""),
                passphrase=request.form.get("passphrase", ""), throttle=credential_throttle(),
            )
            # A passphrase step starts over: whatever was pending no longer counts.
            old = session.pop(PENDING, None)
            if isinstance(old, str):
                tokens.end_pending(db, old)
            if user.needs_totp and user.totp_enabled:
                session[PENDING] = tokens.start_pending(db, user)
                return render_template("auth/login.html", next=next_url, ask_totp=True)
    except AuthenticationFailed:  # the service kept the audit record of the failure
        if asked_code and not tokens.pending_is_live(db, str(pending_token)):
            session.pop(PENDING, None)
        return render_template("auth/login.html", next=next_url, failed=True,
                               ask_totp=asked_code and PENDING in session), 401
    session.pop(PENDING, None)
    accounts.signed_in(credential_throttle(), user)
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
            throttle=credential_throttle(),
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
