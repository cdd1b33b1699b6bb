"""Cross-site requests: every form needs its token; the JSON API needs it with a cookie only."""

from __future__ import annotations

import pytest

from incidents.models import Role
from incidents.web.extensions import csrf
from tests.helpers import gen_invitation, gen_token, gen_user
from tests.web.conftest import form_token, fresh_g, sign_in
from tests.web.route_walk import walk_routes

CSRF_MESSAGE = "The form expired or was sent from another site. Please try again."
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Modules whose exempt views call incidents.web.http.streaming.check_streamed_csrf.
STREAMING_MODULES = {"incidents.views.submit", "incidents.api.v1.submissions",
                     "incidents.api.v1.uploads"}


def streamed(app, endpoint: str) -> bool:
    """Views exempt from the global check read their body as a stream and check the token
    themselves (incidents.web.http.streaming); their own tests prove that."""
    view = app.view_functions[endpoint]
    return f"{view.__module__}.{view.__name__}" in csrf._exempt_views


def page_routes(app):
    return [(rule, method, path) for rule, method, path in walk_routes(app, UNSAFE)
            if not path.startswith("/api/") and not streamed(app, rule.endpoint)]


def api_routes(app):
    return [(rule, method, path) for rule, method, path in walk_routes(app, UNSAFE)
            if path.startswith("/api/") and not streamed(app, rule.endpoint)]


def test_only_streaming_views_are_exempt_from_the_global_csrf_check(app):
    for rule, _method, _path in walk_routes(app, UNSAFE):
        if streamed(app, rule.endpoint):
            assert app.view_functions[rule.endpoint].__module__ in STREAMING_MODULES, rule.rule


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_every_form_without_its_token_is_refused_with_a_clear_message(app, who):
    client = app.test_client()
    if who == "admin":
        sign_in(client, gen_user(Role.ADMIN))
    routes = page_routes(app)
    assert routes
    for rule, method, path in routes:
        fresh_g()
        response = client.open(path, method=method, data={"pseudonym": "x"})
        assert response.status_code == 400, (method, rule.rule)
        assert CSRF_MESSAGE in response.get_data(as_text=True), (method, rule.rule)


def test_a_form_with_another_sessions_token_is_refused(app):
    victim, attacker = app.test_client(), app.test_client()
    sign_in(victim, gen_user(Role.ADMIN))
    stolen = form_token(attacker)
    fresh_g()
    response = victim.post("/admin/invitations", data={"csrf_token": stolen, "role": "admin"})
    assert response.status_code == 400


def test_the_json_api_with_a_session_cookie_but_no_token_is_refused(app):
    client = app.test_client()
    sign_in(client, gen_user(Role.CONTRIBUTOR))
    routes = api_routes(app)
    assert routes
    for rule, method, path in routes:
        fresh_g()
        response = client.open(path, method=method, json={})
        assert response.status_code == 400, (method, rule.rule)
        assert response.get_json()["error"] == "csrf_failed", (method, rule.rule)


def test_the_json_api_with_a_session_cookie_and_the_token_in_a_header_works(app):
    client = app.test_client()
    sign_in(client, gen_user(Role.CONTRIBUTOR))
    token = form_token(client)
    response = client.post("/api/v1/auth/token", json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert response.get_json()["error"] != "csrf_failed"


def test_a_bearer_token_needs_no_csrf_token(app):
    user = gen_user(Role.CONTRIBUTOR, pseudonym="Holder")
    token = gen_token(user)
    response = app.test_client().post(
        "/api/v1/auth/token", headers={"Authorization": f"Bearer {token}"},
        json={"pseudonym": "Holder", "passphrase": "purple elephant tramway 1986"})
    assert response.status_code == 201


def test_a_bogus_bearer_header_does_not_let_a_session_cookie_skip_csrf(app):
    client = app.test_client()
    sign_in(client, gen_user(Role.CONTRIBUTOR))
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401


def test_an_app_registers_without_any_cookie_or_csrf_token(app):
    invitation = gen_invitation(Role.CONTRIBUTOR)
    response = app.test_client().post("/api/v1/auth/register", json={
        "invitation": invitation, "pseudonym": "Mobile",
        "passphrase": "purple elephant tramway 1986"})
    assert response.status_code == 201


def test_a_cookieless_api_call_from_another_origin_is_refused(app):
    response = app.test_client().post(
        "/api/v1/auth/token", json={"pseudonym": "x", "passphrase": "y"},
        headers={"Origin": "https://evil.example"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf_failed"
