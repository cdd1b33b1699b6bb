"""A reviewer's world: a witness's real submission (processed), staff with API tokens.

Fixtures live here (not in conftest) so tests elsewhere (tests/api) can import them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from incidents.models import Role, User
from incidents.services.media.process import process_item
from incidents.web.db import get_session
from tests.helpers import gen_token, gen_user
from tests.submissions.helpers import fresh_g, gen_metadata, post_submission

SAMPLES = Path("/work/shared/samples/photos")
PHOTO = SAMPLES / "jpg_gps_DSCN0010.jpg"
OTHER_PHOTO = SAMPLES / "jpg_Canon_40D.jpg"


@dataclass
class Actor:
    user: User
    token: str


@pytest.fixture
def queued(app: Flask) -> list[str]:
    """Media jobs are collected and run in the test's own thread (see `submit`)."""
    seen: list[str] = []
    app.extensions["media_queue"] = seen.extend
    return seen


@pytest.fixture
def witness(app: Flask) -> Actor:
    user = gen_user(Role.CONTRIBUTOR)
    return Actor(user, gen_token(user))


@pytest.fixture
def reviewer(app: Flask) -> Actor:
    user = gen_user(Role.REVIEWER)
    return Actor(user, gen_token(user))


@pytest.fixture
def submit(app: Flask, client: FlaskClient, witness: Actor, queued: list[str]
           ) -> Callable[..., str]:
    """Submit as the witness through the API, then process its files; the submission id."""

    def run(photo: Path | None = PHOTO, actor: Actor | None = None, **metadata: Any) -> str:
        files = [(photo.read_bytes(), photo.name, "image/jpeg")] if photo else []
        response = post_submission(client, (actor or witness).token, gen_metadata(**metadata),
                                   files)
        assert response.status_code == 201, response.get_data(as_text=True)
        for item_id in list(queued):
            process_item(get_session(), app.extensions["blobstore"], item_id)
        queued.clear()
        fresh_g()
        return str(response.get_json()["id"])

    return run


def call(client: FlaskClient, method: str, path: str, token: str, body: Any = None
         ) -> TestResponse:
    fresh_g()
    headers = {"Authorization": f"Bearer {token}"}
    if body is None:
        return client.open(path, method=method, headers=headers)
    return client.open(path, method=method, headers=headers, data=json.dumps(body),
                       content_type="application/json")


def items_of(client: FlaskClient, token: str, submission_id: str) -> list[dict[str, Any]]:
    response = call(client, "GET", f"/api/v1/review/submissions/{submission_id}", token)
    assert response.status_code == 200, response.get_data(as_text=True)
    items: list[dict[str, Any]] = response.get_json()["items"]
    return items
