"""Chained fixtures: settings -> app -> client, on SQLite or on the PostgreSQL in TEST_DATABASE_URL.

`make test` runs the suite once on SQLite and once on a fresh PostgreSQL database with Redis.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from incidents.app import create_app
from incidents.core.settings import Settings
from incidents.models.base import Base
from incidents.services.instance import migrate
from incidents.services.throttle import RedisThrottle
from incidents.web.db import get_db, get_session
from storage.agent.client import AgentProvider
from storage.blobstore import BlobStore
from storage.crypto.key_directory import init_key_directory
from tests.fixtures.openapi import DocumentedClient
from tests.helpers import CHEAP_ARGON2

# Fixtures shared across folders (a local RFC 3161 timestamp authority).
pytest_plugins = ["tests.fixtures.tsa"]

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def _worker_database(url: str) -> str:
    """Each xdist worker gets its own database beside the one `make test` created."""
    if not url:
        return ""
    base = sa.make_url(url)
    name = f"{base.database}_{WORKER}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _worker_redis(url: str) -> str:
    """Each worker its own Redis database number, counting down from the one given."""
    if not url:
        return ""
    base, _, number = url.rpartition("/")
    return f"{base}/{int(number) - int(WORKER.removeprefix('gw') or 0)}"


POSTGRES_URL = _worker_database(os.environ.get("TEST_DATABASE_URL", ""))
REDIS_URL = _worker_redis(os.environ.get("TEST_REDIS_URL", ""))


@pytest.fixture(scope="session")
def template_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated database (SQLite) and keys, made once and copied for each test."""
    root = tmp_path_factory.mktemp("template")
    created = init_key_directory(root / "keys")
    assert created is not None
    # The test instance's one recovery share, outside the instance folder (as a trustee's).
    (root.parent / "template-share").write_text(created.shares[0])
    if POSTGRES_URL:
        migrate(POSTGRES_URL)
    else:
        migrate(f"sqlite:///{root / 'incidents.sqlite3'}")
    (root / "secret_key").write_text("test-secret-" + "0" * 40)
    return root


@pytest.fixture
def instance_path(tmp_path: Path, template_instance: Path) -> Path:
    path = tmp_path / "instance"
    shutil.copytree(template_instance, path)
    os.chmod(path / "keys", 0o700)
    return path


@pytest.fixture
def settings(instance_path: Path) -> Settings:
    return Settings.load(
        instance_path=instance_path,
        environ={},
        testing=True,
        secure_cookies=False,
        database_url=POSTGRES_URL,
        redis_url=REDIS_URL,
        vault_agent="inprocess",
        # Off here, so tests count checkpoints deterministically; tests/custody/
        # test_signer.py runs the background signer itself.
        checkpoint_signer_seconds=0,
        **CHEAP_ARGON2,
    )


@pytest.fixture(scope="session")
def recovery_share(template_instance: Path) -> str:
    """The share that unseals every test instance (copied from one template)."""
    return (template_instance.parent / "template-share").read_text()


@pytest.fixture
def app(settings: Settings, recovery_share: str) -> Iterator[Flask]:
    app = create_app(settings)
    # Every /api/v1 JSON answer the suite receives is checked against openapi.json.
    app.test_client_class = DocumentedClient
    # Tests start unsealed with the vault in this process (settings: vault_agent); the
    # tests of the real agent process and of sealing are in tests/vault/.
    vault = app.extensions.get("vault")
    if vault is not None:
        vault.add_share(recovery_share)
    with app.app_context():
        yield app
        # Background jobs started by the test must finish before the database goes away.
        jobs = app.extensions.get("jobs")
        if jobs is not None:
            jobs.shutdown(wait=True)
        database = get_db()
        database.session.remove()
        if POSTGRES_URL:
            _truncate(database.engine)
        database.engine.dispose()
    if REDIS_URL:
        _flush_rate_limits(app)


def _truncate(engine: sa.Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _flush_rate_limits(app: Flask) -> None:
    limiter = app.extensions["limiter"]
    for each in limiter if isinstance(limiter, set) else [limiter]:
        each.reset()
    throttle = app.extensions.get("credential_throttle")
    if isinstance(throttle, RedisThrottle):  # the database one goes with the database
        throttle.clear_all()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Session:
    """The app's database session (what views and services get from `get_session()`)."""
    return get_session()


@pytest.fixture
def keys(app: Flask) -> AgentProvider:
    return app.extensions["keys"]


@pytest.fixture
def store(app: Flask) -> BlobStore:
    """The app's real blob store (tests/storage/ has its own, over a bare backend)."""
    return app.extensions["blobstore"]


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)
