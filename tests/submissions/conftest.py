"""Fixtures for submission tests (factories in tests/submissions/helpers.py)."""

from __future__ import annotations

import pytest
from flask import Flask

from incidents.models import Role, User
from tests.helpers import gen_token, gen_user


@pytest.fixture
def witness(app: Flask) -> User:
    return gen_user(Role.CONTRIBUTOR)


@pytest.fixture
def witness_token(witness: User) -> str:
    return gen_token(witness)


@pytest.fixture(autouse=True)
def queued(app: Flask) -> list[str]:
    """Record what would be queued for media processing instead of running it here
    (tests/media covers processing; a background job would race these tests' database)."""
    seen: list[str] = []
    app.extensions["media_queue"] = seen.extend
    return seen
