"""A witness's first visit in a real browser: no JavaScript, no other origin, no CSP breach."""

from __future__ import annotations

import pytest

from incidents.models import Role
from tests.helpers import PASSPHRASE, gen_invitation

pytestmark = pytest.mark.browser


def test_a_witness_registers_signs_in_and_reads_russian_without_javascript(
    chromium, live_server
):
    invitation = gen_invitation(Role.CONTRIBUTOR)
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    requests: list[str] = []
    csp_reports: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: csp_reports.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        page.goto(f"{live_server}/register?invitation={invitation}")
        page.fill("#pseudonym", "Steppe Fox")
        page.fill("#passphrase", PASSPHRASE)
        page.click("button[type=submit]")
        assert page.url == f"{live_server}/account/"
        assert page.locator(".pseudonym").inner_text() == "Steppe Fox"

        page.click("form[action='/logout'] button")
        page.goto(f"{live_server}/login")
        page.fill("#pseudonym", "steppe fox")
        page.fill("#passphrase", PASSPHRASE)
        page.click("main button[type=submit]")
        assert page.url == f"{live_server}/account/"

        page.click("a[hreflang=ru]")
        assert page.url == f"{live_server}/account/"
        assert page.locator("html").get_attribute("lang") == "ru"
        heading = page.locator("h1").inner_text()
        assert any("\u0400" <= ch <= "\u04ff" for ch in heading), heading
    finally:
        context.close()
    assert requests
    assert [url for url in requests if not url.startswith(live_server + "/")] == []
    assert csp_reports == []


def test_the_home_page_loads_only_from_our_origin_with_javascript_on(chromium, live_server):
    context = chromium.new_context()
    page = context.new_page()
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text else None)
    # Browsers ask for /favicon.ico on their own; anything else failing is a broken page.
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    try:
        page.goto(f"{live_server}/")
        page.goto(f"{live_server}/login")
    finally:
        context.close()
    assert [url for url in requests if not url.startswith(live_server + "/")] == []
    assert problems == []
