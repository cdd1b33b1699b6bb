"""Every route x every role, compared with the one permission table (incidents.web.permissions).

The walk reads `app.url_map`, so a route added anywhere is checked without touching this
file, and a route missing from PERMISSIONS fails here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask

from incidents.models import Role, User
from incidents.services import tokens
from incidents.web.db import get_session
from incidents.web.permissions import PERMISSIONS, PUBLIC, allowed
from tests.helpers import gen_user
from tests.web.conftest import form_token, fresh_g
from tests.web.route_walk import walk_routes

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
ROLES = [None, Role.CONTRIBUTOR, Role.REVIEWER, Role.RESEARCHER, Role.ADMIN]


def endpoints_missing_from_the_table(app: Flask) -> list[str]:
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(PERMISSIONS))


def test_every_endpoint_is_in_the_permission_table(app):
    assert endpoints_missing_from_the_table(app) == []


def browser_for(app: Flask, user: User | None):
    """A client holding a live server-side session for `user` (or none)."""
    client = app.test_client()
    if user is not None:
        session = get_session()
        token = tokens.start_session(session, user)
        session.commit()
        with client.session_transaction() as cookie:
            cookie["_user_id"] = token
            cookie["_fresh"] = True
    return client


def call(client, method: str, path: str):
    headers: dict[str, str] = {}
    body: dict[str, object] = {}
    if method not in SAFE_METHODS:
        token = form_token(client)  # a real token, so CSRF never hides the authz answer
        if path.startswith("/api/"):
            headers["X-CSRFToken"] = token
            body["json"] = {}
        else:
            body["data"] = {"csrf_token": token}
    fresh_g()
    return client.open(path, method=method, headers=headers, **body)


def verdict(endpoint: str, role: Role | None, path: str, response) -> str | None:
    """What is wrong with this answer, or None."""
    status = response.status_code
    location = urlsplit(response.headers.get("Location", ""))
    to_login = 300 <= status < 400 and location.path == "/login"
    api = path.startswith("/api/")
    if allowed(endpoint, role):
        if status == 403 or to_login:
            return f"allowed but got {status} {location.path}"
        if status == 401 and PERMISSIONS.get(endpoint) != PUBLIC:
            return "allowed but got 401"
        if status == 500:
            return "allowed but the route failed with 500"
        return None
    if role is None:
        if api and status != 401:
            return f"anonymous API call got {status}, not 401"
        if not api and not to_login:
            return f"anonymous page got {status}, not a redirect to /login"
        return None
    return None if status == 403 else f"denied but got {status}"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_every_route_answers_each_role_as_the_permission_table_says(app, role):
    assert endpoints_missing_from_the_table(app) == []
    gen_user(Role.CONTRIBUTOR, pseudonym="Target")  # id 1: what `<int:...>` = 1 points at
    shared = gen_user(role) if role else None
    problems = []
    walked = set()
    for rule, method, path in walk_routes(app):
        # Unsafe methods may end the session or change the account: use a fresh one each time.
        user = gen_user(role) if role and method not in SAFE_METHODS else shared
        response = call(browser_for(app, user), method, path)
        problem = verdict(rule.endpoint, role, path, response)
        if problem:
            problems.append(f"{method} {rule.rule} ({rule.endpoint}): {problem}")
        walked.add(rule.endpoint)
    assert walked == {rule.endpoint for rule in app.url_map.iter_rules()}
    assert problems == []
