"""Security headers on every page, and cookie flags."""

from __future__ import annotations

import pytest

from incidents.models import Role
from tests.helpers import PASSPHRASE, gen_user
from tests.web.conftest import fresh_g, post_form, sign_in
from tests.web.route_walk import walk_routes

ALLOWED_SOURCES = {"'self'", "'none'", "blob:", "data:"}


def check_csp(policy: str) -> list[str]:
    problems = []
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    for name, sources in directives.items():
        for source in sources:
            if name == "sandbox":
                continue
            if source not in ALLOWED_SOURCES:
                problems.append(f"{name} allows {source}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append("frame-ancestors is not 'none'")
    if "default-src" not in directives:
        problems.append("no default-src")
    return problems


def check_headers(response, path: str) -> list[str]:
    h = response.headers
    problems = [f"{path}: {p}" for p in check_csp(h.get("Content-Security-Policy", ""))]
    if "unsafe-inline" in h.get("Content-Security-Policy", ""):
        problems.append(f"{path}: unsafe-inline")
    expected = {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
    for name, value in expected.items():
        if h.get(name) != value:
            problems.append(f"{path}: {name} is {h.get(name)!r}")
    if not path.startswith("/static/") and "no-store" not in h.get("Cache-Control", ""):
        problems.append(f"{path}: Cache-Control is {h.get('Cache-Control')!r}")
    return problems


@pytest.mark.parametrize("role", [None, Role.CONTRIBUTOR, Role.ADMIN],
                         ids=lambda r: r.value if r else "anonymous")
def test_every_page_carries_the_security_headers(app, role):
    client = app.test_client()
    if role:
        sign_in(client, gen_user(role))
    problems = []
    paths = [path for _rule, _method, path in walk_routes(app, {"GET"})]
    paths += ["/", "/login", "/register", "/no-such-page", "/api/v1/no-such", "/static/style.css"]
    for path in paths:
        fresh_g()
        problems += check_headers(client.get(path), path)
    assert problems == []


def test_error_and_redirect_responses_carry_the_headers_too(client):
    fresh_g()
    for response, path in ((client.get("/account/"), "/account/"),
                           (client.post("/login"), "/login POST"),
                           (client.get("/logout"), "/logout GET")):
        assert check_headers(response, path) == []


def session_cookie_header(app) -> str:
    gen_user(Role.CONTRIBUTOR, pseudonym="Known")
    client = app.test_client()
    response = post_form(client, "/login", {"pseudonym": "Known", "passphrase": PASSPHRASE})
    assert response.status_code == 302
    cookies = [v for v in response.headers.getlist("Set-Cookie") if "evidence_session=" in v]
    assert cookies
    return cookies[-1]


def test_the_session_cookie_is_secure_httponly_and_samesite(app_with):
    header = session_cookie_header(app_with(secure_cookies=True))
    assert "; Secure" in header
    assert "; HttpOnly" in header
    assert "SameSite=Lax" in header


def test_without_secure_cookies_for_plain_http_localhost_the_cookie_is_still_httponly(app):
    header = session_cookie_header(app)
    assert "; Secure" not in header
    assert "; HttpOnly" in header
    assert "SameSite=Lax" in header
