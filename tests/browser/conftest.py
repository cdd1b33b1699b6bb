"""A real server on 127.0.0.1 and Debian's Chromium driven by Playwright (never downloaded)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from incidents.app import create_app
from incidents.core.settings import Settings
from tests.conftest import POSTGRES_URL, _truncate

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


class QuietHandler(WSGIRequestHandler):
    """The development server would log each client's address; we log none (DESIGN §7)."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        return


@pytest.fixture
def live_app(settings: Settings) -> Iterator[Flask]:
    app = create_app(dataclasses.replace(settings, secure_cookies=False))
    with app.app_context():
        yield app
    database = app.extensions["database"]
    database.session.remove()
    if POSTGRES_URL:
        _truncate(database.engine)
    database.engine.dispose()


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[str]:
    """The real app under Werkzeug's threaded server, on a free loopback port."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True,
                         request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: run `make browser`")
        pytest.skip("Debian's chromium is not installed (`make browser` installs it)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only when Chromium exists

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
