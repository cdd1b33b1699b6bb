"""The request's database session: one per request, removed at teardown."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from incidents.core.database import Database
from incidents.web import context


def init_app(app: Flask, database: Database) -> None:
    context.register(app, "database", database)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        database.session.remove()


def get_db() -> Database:
    return context.database()


def get_session() -> Session:
    return get_db().session()
