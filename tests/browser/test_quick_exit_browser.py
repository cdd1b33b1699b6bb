"""Quick exit in Debian's Chromium (issue 11, item 5): with JavaScript off, and with Esc on."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from incidents.models import Role
from tests.browser.conftest import QuietHandler
from tests.helpers import PASSPHRASE, gen_user

pytestmark = pytest.mark.browser


@pytest.fixture
def neutral_site() -> Iterator[str]:
    """Another origin standing in for the outside weather site."""

    @Request.application
    def weather(_request: Request) -> Response:
        return Response("<!doctype html><title>Forecast</title><h1>Sunny</h1>",
                        mimetype="text/html")

    server = make_server("127.0.0.1", 0, weather, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def exit_server(live_app, neutral_site) -> Iterator[str]:
    settings = live_app.extensions["settings"]
    live_app.extensions["settings"] = type(settings)(**{**settings.__dict__,
                                                        "quick_exit_url": neutral_site})
    server = make_server("127.0.0.1", 0, live_app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def sign_in(page, base: str, pseudonym: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#pseudonym", pseudonym)
    page.fill("#passphrase", PASSPHRASE)
    page.click("main button[type=submit]")
    assert page.url == f"{base}/account/"


def assert_left_and_signed_out(context, page, base: str, neutral: str) -> None:
    page.wait_for_url(neutral)
    assert page.locator("h1").inner_text() == "Sunny"
    assert [c for c in context.cookies() if c["domain"] == "127.0.0.1"
            and str(c.get("name")) == "evidence_session" and c["value"]] == []
    # The same browser, going back to "My submissions", finds no session.
    page.goto(f"{base}/submissions")
    assert "/login" in page.url


def test_quick_exit_without_javascript_signs_out_and_lands_on_the_neutral_site(
        chromium, exit_server, neutral_site):
    witness = gen_user(Role.CONTRIBUTOR)
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, exit_server, witness.pseudonym)
        page.goto(f"{exit_server}/submit")
        page.click("a[data-quick-exit]")
        assert_left_and_signed_out(context, page, exit_server, neutral_site)
    finally:
        context.close()


def test_the_esc_key_leaves_replacing_the_page_and_clearing_storage(
        chromium, exit_server, neutral_site):
    witness = gen_user(Role.CONTRIBUTOR)
    context = chromium.new_context()
    page = context.new_page()
    try:
        sign_in(page, exit_server, witness.pseudonym)
        page.goto(f"{exit_server}/submit")
        page.evaluate("localStorage.setItem('draft', 'testimony')")
        history_before = page.evaluate("history.length")
        page.keyboard.press("Escape")
        page.wait_for_url(neutral_site)
        # The form's entry was replaced, not left behind for "back" to return to.
        assert page.evaluate("history.length") == history_before
        page.go_back()
        assert not page.url.startswith(f"{exit_server}/submit")
        page.goto(f"{exit_server}/")
        assert page.evaluate("localStorage.getItem('draft')") is None
        page.goto(f"{exit_server}/submissions")
        assert "/login" in page.url
    finally:
        context.close()
