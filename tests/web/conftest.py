"""Fixtures for the web tests: an app built with other settings, and form helpers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.app import create_app
from incidents.core.settings import Settings
from incidents.models import User
from tests.conftest import POSTGRES_URL, REDIS_URL, _flush_rate_limits, _truncate
from tests.helpers import BrowserLikeClient, csrf_token, fresh_g, login


@pytest.fixture
def app_with(settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Build the app with some settings changed (use instead of `app`, not beside it)."""
    made: list[tuple[Flask, Any]] = []

    def make(**overrides: Any) -> Flask:
        app = create_app(dataclasses.replace(settings, **overrides))
        app.test_client_class = BrowserLikeClient
        context = app.app_context()
        context.push()
        made.append((app, context))
        return app

    yield make
    for app, context in reversed(made):
        database = app.extensions["database"]
        database.session.remove()
        if POSTGRES_URL:
            _truncate(database.engine)
        database.engine.dispose()
        context.pop()
        if REDIS_URL:
            _flush_rate_limits(app)


def form_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of `client`'s own session, read from a page's form."""
    fresh_g()
    token = csrf_token(client, path)
    fresh_g()
    return token


def post_form(client: FlaskClient, path: str, data: dict[str, str], **kwargs: Any) -> Any:
    """POST a form the way a browser would, with the CSRF token from the sign-in page."""
    return client.post(path, data={"csrf_token": form_token(client), **data}, **kwargs)


def register_form(client: FlaskClient, invitation: str, pseudonym: str, passphrase: str,
                  **extra: str) -> Any:
    return post_form(client, "/register", {"invitation": invitation, "pseudonym": pseudonym,
                                           "passphrase": passphrase, **extra})


def is_russian(text: str) -> bool:
    """Mostly Cyrillic letters: the message was translated, not left in English."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum("\u0400" <= ch <= "\u04ff" for ch in letters) > len(letters) / 2


def sign_in(client: FlaskClient, user: User) -> None:
    """`tests.helpers.login` for one of several browsers in a test (see `fresh_g`)."""
    fresh_g()
    login(client, user)
    fresh_g()
