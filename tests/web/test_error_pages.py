"""Errors: a page in the user's language, JSON under /api/, never a traceback or content."""

from __future__ import annotations

import logging

import pytest

from incidents.models import Role
from incidents.web import permissions as authz
from tests.helpers import gen_user
from tests.web.conftest import fresh_g, is_russian, post_form, sign_in

SECRET = "testimony: the officer in cell 4 was called Nurlan"


def message_of(response) -> str:
    html = response.get_data(as_text=True)
    return html.split('role="alert">', 1)[1].split("<", 1)[0]


@pytest.fixture
def failing_app(app_with, monkeypatch):
    """An app with two routes that fail with content in the exception, in this test only."""
    app = app_with()

    def boom() -> str:
        raise RuntimeError(SECRET)

    app.add_url_rule("/test-boom", "test_boom", boom)
    app.add_url_rule("/api/v1/test-boom", "test_api_boom", boom)
    monkeypatch.setitem(authz.PERMISSIONS, "test_boom", authz.PUBLIC)
    monkeypatch.setitem(authz.PERMISSIONS, "test_api_boom", authz.PUBLIC)
    return app


def make_error(client, status: int):
    """Make the app answer `status` on a page, the way a user could run into it."""
    if status == 400:
        return client.post("/login", data={"pseudonym": "x"})  # no CSRF token
    if status == 403:
        sign_in(client, gen_user(Role.CONTRIBUTOR))
        return client.get("/admin/users")
    if status == 404:
        return client.get("/no-such-page")
    if status == 405:
        return client.get("/logout")
    if status == 413:
        return client.post("/login", data={"csrf_token": "x", "pseudonym": "x" * (2 * 1024**2)})
    if status == 500:
        return client.get("/test-boom")
    raise AssertionError(status)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 413, 500])
def test_an_error_page_is_html_in_the_users_language(failing_app, status):
    client = failing_app.test_client()
    client.get("/language/ru")
    fresh_g()
    response = make_error(client, status)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="ru">' in html
    assert is_russian(message_of(response)), message_of(response)
    assert "Traceback" not in html


@pytest.mark.parametrize("status", [400, 403, 404, 405, 413, 500])
def test_an_english_error_page_says_what_happened(failing_app, status):
    client = failing_app.test_client()
    response = make_error(client, status)
    assert response.status_code == status
    assert message_of(response)
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_crash_shows_and_logs_no_content(failing_app, caplog):
    caplog.set_level(logging.DEBUG)
    response = failing_app.test_client().get("/test-boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    assert "RuntimeError" not in body
    assert SECRET not in body
    assert "Nurlan" not in caplog.text
    assert any("RuntimeError" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/v1/no-such", 404), ("POST", "/api/v1/me", 405), ("GET", "/api/v1/me", 401),
     ("GET", "/api/v1/test-boom", 500)],
)
def test_errors_under_the_api_are_json(failing_app, method, path, status):
    response = failing_app.test_client().open(path, method=method)
    assert response.status_code == status
    body = response.get_json()
    assert set(body) >= {"error", "message"}
    assert SECRET not in response.get_data(as_text=True)


def test_a_too_large_api_body_is_json_413(app):
    response = app.test_client().post(
        "/api/v1/auth/token", data={"pseudonym": "x" * (2 * 1024**2)})
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"


def test_a_405_says_which_methods_are_allowed(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_a_registration_error_keeps_the_form_filled_but_not_the_passphrase(client):
    response = post_form(client, "/register", {"invitation": "nope", "pseudonym": "Aliya",
                                               "passphrase": "purple elephant tramway 1986"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="Aliya"' in html
    assert "purple elephant" not in html
