"""Factories for submission tests: metadata, multipart bodies, blob folder listing."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import fresh_g


def gen_metadata(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "testimony": "Soldiers fired on the crowd near the akimat at noon.",
        "occurred_at": "2022-01-05",
        "time_precision": "approximate",
        "place": "almaty",
        "categories": ["excessive_force"],
        "tags": ["live_ammunition"],
        "counts": {"injured": 3, "detained": 0},
        "consent": {"legal": True, "research": True, "publication": False, "contact": True},
    }
    data.update(overrides)
    return data


File = tuple[bytes, str, str]


def api_get(client: FlaskClient, path: str, token: str) -> TestResponse:
    fresh_g()
    return client.get(path, headers=auth(token))


def api_post(client: FlaskClient, path: str, token: str, data: dict[str, Any]) -> TestResponse:
    fresh_g()
    return client.post(path, data=data, content_type="multipart/form-data",
                       headers=auth(token))


def post_submission(client: FlaskClient, token: str, metadata: dict[str, Any] | str,
                    files: list[File] = (), **extra: Any) -> TestResponse:  # type: ignore[assignment]
    body: dict[str, Any] = {
        "metadata": metadata if isinstance(metadata, str) else json.dumps(metadata)}
    if files:
        body["files"] = [(io.BytesIO(data), name, kind) for data, name, kind in files]
    body.update(extra)
    fresh_g()
    return client.post("/api/v1/submissions", data=body, content_type="multipart/form-data",
                       headers={"Authorization": f"Bearer {token}"})


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def blob_files(app: Flask) -> list[Path]:
    root = app.extensions["settings"].blob_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
