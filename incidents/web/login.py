"""Who is asking: a server-side session from the cookie, or a personal API token."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, g, request, session
from flask_login import login_user, logout_user

from incidents.models import User
from incidents.services import tokens
from incidents.web import context
from incidents.web.db import get_session
from incidents.web.extensions import login_manager

SESSION_KEY = "sid"


def _lifetimes() -> tokens.SessionLifetimes:
    settings = context.settings()
    return tokens.SessionLifetimes(
        staff=timedelta(minutes=settings.staff_session_minutes),
        contributor=timedelta(minutes=settings.contributor_session_minutes),
        staff_absolute=timedelta(hours=settings.staff_session_absolute_hours),
        contributor_absolute=timedelta(days=settings.contributor_session_absolute_days),
    )


class SessionUser:
    """Flask-Login's view of a user: its id is the session token, not the user id."""

    def __init__(self, user: User, session_token: str) -> None:
        self.user = user
        self.session_token = session_token

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.session_token

    def __getattr__(self, name: str) -> object:
        return getattr(self.user, name)


def bearer_token() -> str | None:
    """The API token of an `Authorization: Bearer` request under /api/, if there is one."""
    header = request.headers.get("Authorization", "")
    if not request.path.startswith("/api/") or not header.startswith("Bearer "):
        return None
    return header[7:].strip()


def sign_in(user: User) -> None:
    """Start a fresh server-side session; anything in the old cookie is dropped."""
    token = tokens.start_session(get_session(), user)
    language = session.get("lang")  # the one thing worth keeping: not security-relevant
    session.clear()
    if language:
        session["lang"] = language
    session.permanent = True
    login_user(SessionUser(user, token))
    # Flask-Login stores an unsalted SHA-512 of the client's address and User-Agent in the
    # cookie whatever `session_protection` says; it would identify the witness's network
    # to anyone holding the cookie. Our sessions are server-side rows: drop it.
    session.pop("_id", None)


def current_session_token() -> str:
    token = session.get("_user_id")
    return token if isinstance(token, str) else ""


def sign_out() -> None:
    token = session.get("_user_id")
    if token:
        tokens.end_session(get_session(), token)
    logout_user()
    session.clear()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = None  # sessions are server-side rows instead
    login_manager.login_view = "auth.login"

    @login_manager.user_loader
    def _load(token: str) -> SessionUser | None:
        # A request that names a bearer token is that token's alone: a session cookie sent
        # alongside must not authenticate it, since such requests skip the CSRF check.
        if bearer_token() is not None:
            return None
        user = tokens.load_session(get_session(), token, _lifetimes())
        return SessionUser(user, token) if user else None

    @login_manager.request_loader
    def _load_from_header(req: object) -> SessionUser | None:
        token = bearer_token()
        if not token:
            return None
        user = tokens.load_api_token(get_session(), token)
        if user is None:
            return None
        g.auth_via_token = True
        return SessionUser(user, "")
