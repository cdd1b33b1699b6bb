"""The navigation shows each role exactly the pages the permission table lets it reach."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from incidents.core.vocabulary import Role
from incidents.web.permissions import PERMISSIONS, allowed
from tests.helpers import gen_user
from tests.web.conftest import sign_in

NAV_ENDPOINTS = {"/submit": "submit.new", "/submissions": "submit.mine",
                 "/account/": "account.index", "/research/": "research.timeline",
                 "/review/": "review.queue", "/incidents/": "incidents.index",
                 "/cases/": "cases.index", "/actors/": "actors.index",
                 "/admin/users": "admin.users",
                 "/admin/invitations": "admin.invitations"}


@pytest.mark.parametrize("role", list(Role))
def test_the_navigation_is_the_permission_table(app: Flask, role: Role) -> None:
    client = app.test_client()
    sign_in(client, gen_user(role))
    page = client.get("/account/").get_data(as_text=True)
    nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    shown = set(re.findall(r'<a href="([^"]+)"', nav))
    expected = {path for path, endpoint in NAV_ENDPOINTS.items() if allowed(endpoint, role)}
    assert shown == expected
    for path in shown:  # every link shown really opens
        assert client.get(path).status_code == 200, path


def test_every_navigation_endpoint_is_in_the_table() -> None:
    assert set(NAV_ENDPOINTS.values()) <= set(PERMISSIONS)
