"""The admin page with k-of-n shares: each trustee in their own session, with a second
factor; the count of pending shares shown to the next; the threshold unseals."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from flask import Flask

from incidents.app import create_app
from incidents.core.vocabulary import Role
from incidents.services import totp
from incidents.web.db import get_db, get_session
from tests.helpers import BrowserLikeClient, current_code, fresh_g, gen_user, login
from tests.keys import init_keys, shares_of


@pytest.fixture
def two_of_three(settings) -> Iterator[tuple[Flask, list[str]]]:
    """The test instance with its keys remade as 2-of-3 shares (no blobs exist yet)."""
    shutil.rmtree(settings.key_dir)
    init_keys(settings.key_dir, shares=3, threshold=2)
    app = create_app(settings)
    app.test_client_class = BrowserLikeClient
    with app.app_context():
        yield app, shares_of(settings.key_dir)
        get_db().session.remove()
        get_db().engine.dispose()


def _trustee() -> tuple[object, list[str]]:
    session = get_session()
    user = gen_user(Role.ADMIN, with_totp=False)
    totp.begin_enrolment(user)
    codes = totp.confirm_enrolment(session, user, current_code(user))
    session.commit()
    return user, codes


def _give(client, share: str, code: str):
    fresh_g()
    page = client.get("/admin/vault").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    fresh_g()
    return client.post("/admin/vault/unseal", data={"csrf_token": token, "share": share,
                                                     "code": code})


def test_two_trustees_each_in_their_own_session_unseal_together(two_of_three) -> None:
    app, shares = two_of_three
    first_user, first_codes = _trustee()
    second_user, second_codes = _trustee()
    first, second = app.test_client(), app.test_client()
    login(first, first_user)
    login(second, second_user)
    assert _give(first, shares[0], first_codes[0]).status_code == 302
    fresh_g()
    page = second.get("/admin/vault").get_data(as_text=True)
    assert "Shares given so far: 1 of 2." in page
    assert "Sealed." in page
    assert _give(second, shares[2], second_codes[0]).status_code == 302
    fresh_g()
    assert "Unsealed." in first.get("/admin/vault").get_data(as_text=True)


def test_a_share_without_a_valid_second_factor_is_not_taken(two_of_three) -> None:
    app, shares = two_of_three
    user, _codes = _trustee()
    client = app.test_client()
    login(client, user)
    response = _give(client, shares[0], "000000")
    assert response.status_code == 400
    assert "second-factor code" in response.get_data(as_text=True)
    assert app.extensions["vault"].status()["pending"] == 0


def test_a_foreign_share_on_the_page_is_named(two_of_three, tmp_path) -> None:
    app, _shares = two_of_three
    init_keys(tmp_path / "other", shares=3, threshold=2)
    user, codes = _trustee()
    client = app.test_client()
    login(client, user)
    response = _give(client, shares_of(tmp_path / "other")[0], codes[0])
    assert response.status_code == 400
    assert "belongs to another vault" in response.get_data(as_text=True)


def test_other_roles_cannot_reach_the_vault_page(two_of_three) -> None:
    app, shares = two_of_three
    client = app.test_client()
    login(client, gen_user(Role.REVIEWER))
    fresh_g()
    assert client.get("/admin/vault").status_code == 403
    fresh_g()
    assert client.post("/admin/vault/seal").status_code in {400, 403}
