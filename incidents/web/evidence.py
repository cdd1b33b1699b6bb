"""Wire the evidence store into the application, and sign checkpoints after requests."""

from __future__ import annotations

from flask import Flask

from incidents.core.database import Database
from incidents.core.settings import Settings
from incidents.services.evidence.store import checkpoint_if_due, open_store
from incidents.web import context


def init_app(app: Flask, settings: Settings, database: Database) -> None:
    opened = open_store(settings, database)
    if opened is None:
        return  # no keys yet: evidence routes answer 503 until `flask --app wsgi init`
    keys, store = opened
    context.register(app, "keys", keys)
    context.register(app, "blobstore", store)

    @app.teardown_request
    def _checkpoint_if_due(exc: BaseException | None) -> None:
        if exc is None:
            checkpoint_if_due(database, keys, settings)
