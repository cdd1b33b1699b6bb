"""What the logs may hold (issue 11, item 4): exceptions as class and frames, never text."""

from __future__ import annotations

import io
import logging
import logging.config

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from incidents import serving

SECRET = "testimony: they shot at us near the akimat"


@pytest.fixture
def captured() -> io.StringIO:
    """The application's logging set up exactly as gunicorn.conf.py sets it up."""
    stream = io.StringIO()
    config = serving.logconfig("INFO")
    logging.config.dictConfig(config)
    for handler in logging.getLogger().handlers:
        handler.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})


def test_a_database_error_is_logged_without_its_sql_parameters(captured):
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (x TEXT UNIQUE)"))
        connection.execute(sa.text("INSERT INTO t VALUES (:x)"), {"x": SECRET})
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO t VALUES (:x)"), {"x": SECRET})
    except IntegrityError:
        logging.getLogger("incidents.test").exception("insert failed")
    text = captured.getvalue()
    assert "sqlalchemy.exc.IntegrityError" in text
    assert "insert failed" in text
    assert "test_private_logs.py" in text  # the frames are there
    assert SECRET not in text
    assert "UNIQUE constraint" not in text  # nor the driver's message


def test_gunicorns_invalid_request_line_is_withheld(captured):
    log = serving.PrivateLogger.__new__(serving.PrivateLogger)
    log.error_log = logging.getLogger("gunicorn.error")
    log.warning("Invalid request from ip=203.0.113.9: Invalid HTTP Version 'GET /x " + SECRET)
    log.info("Booting worker with pid: %s", 4242)
    log.exception("Error handling request %s %s", "POST", "/submit?testimony=" + SECRET)
    text = captured.getvalue()
    assert "203.0.113.9" not in text
    assert SECRET not in text
    assert "Booting worker with pid: 4242" in text
    assert serving.WITHHELD in text
