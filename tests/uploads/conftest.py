"""Fixtures for the tus tests: a contributor with a token, tus headers, a live server."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from incidents.models import Role, User
from tests.helpers import gen_token, gen_user
from tests.web.conftest import app_with, fresh_g  # noqa: F401  (fixture, helper)

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def witness(app: Flask) -> User:
    return gen_user(Role.CONTRIBUTOR, pseudonym="witness-a")


@pytest.fixture
def auth(witness: User) -> dict[str, str]:
    """Headers of a tus request by `witness` (bearer token, so no CSRF token)."""
    return {"Authorization": f"Bearer {gen_token(witness)}", **TUS}


@pytest.fixture
def other_auth(app: Flask) -> dict[str, str]:
    other = gen_user(Role.CONTRIBUTOR, pseudonym="witness-b")
    return {"Authorization": f"Bearer {gen_token(other)}", **TUS}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(client: FlaskClient, headers: dict[str, str], length: int, **meta: str) -> str:
    """Create an upload; return its path."""
    response = client.post("/api/v1/uploads/", headers={
        **headers, "Upload-Length": str(length), "Upload-Metadata": metadata(**meta)})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.headers["Location"]


def patch(client: FlaskClient, headers: dict[str, str], path: str, offset: int, body: bytes,
          **extra: str):  # noqa: ANN201
    return client.patch(path, data=body, headers={
        **headers, "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream", **extra})


def blob_files(instance: Path) -> set[str]:
    """Names of the committed blob files under the instance folder."""
    root = instance / "blobs"
    return {p.name for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


def upload_files(instance: Path) -> set[str]:
    """Names of the files holding uploads in flight (appendable blobs, not yet visible)."""
    root = instance / "blobs"
    return {p.name for p in root.rglob(".up-*") if p.is_file()}


class LiveServer:
    """The real app behind werkzeug's threaded HTTP server on 127.0.0.1."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[Callable[[Flask | None], LiveServer]]:
    """Start (and on teardown stop) live servers, of `app` or of another app instance."""
    started: list[LiveServer] = []

    def start(other: Flask | None = None) -> LiveServer:
        server = LiveServer(other or app)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
