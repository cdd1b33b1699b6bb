"""Fixtures for the researchers' pages: a signed-in researcher's browser."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import Role, User
from tests.helpers import gen_user
from tests.web.conftest import app_with, sign_in  # noqa: F401 - fixtures


@pytest.fixture
def researcher(app: Flask) -> User:
    return gen_user(Role.RESEARCHER, pseudonym="Researcher")


@pytest.fixture
def browser(app: Flask, researcher: User) -> FlaskClient:
    client = app.test_client()
    sign_in(client, researcher)
    return client
