"""Hostile or broken input on the pages: a clear 4xx, nothing stored, everything escaped."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from incidents.models import Role, User, UserSession
from incidents.web.db import get_session
from tests.helpers import PASSPHRASE, gen_invitation, gen_user
from tests.web.conftest import form_token, fresh_g, register_form, sign_in

SCRIPT_NAME = "<script>alert(1)</script>"


def count(model) -> int:
    session = get_session()
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("pseudonym", "passphrase"),
    [("x" * 41, PASSPHRASE), ("x" * 5000, PASSPHRASE), ("", PASSPHRASE), ("  ", PASSPHRASE),
     ("Aliya", ""), ("Aliya", "w" * 2000), ("Ali\x00ya", PASSPHRASE),
     ("Ali\u202eya", PASSPHRASE), ("\u2067Aliya", PASSPHRASE), ("Ali\u200bya", PASSPHRASE),
     ("Aliya\ufffd", PASSPHRASE)],
    ids=["41-chars", "5000-chars", "empty", "blank", "empty-passphrase", "long-passphrase",
         "nul", "rtl-override", "rtl-isolate", "zero-width", "replacement-char"],
)
def test_bad_registration_fields_are_refused_and_nothing_is_stored(client, pseudonym,
                                                                   passphrase):
    token = gen_invitation(Role.CONTRIBUTOR)
    response = register_form(client, token, pseudonym, passphrase)
    assert 400 <= response.status_code < 500
    assert 'role="alert"' in response.get_data(as_text=True)
    assert count(User) == 0


def test_an_invalid_utf8_registration_body_is_refused(client):
    token = gen_invitation(Role.CONTRIBUTOR)
    csrf = form_token(client)
    body = (f"csrf_token={csrf}&invitation={token}&pseudonym=%FF%FEAliya"
            f"&passphrase=purple+elephant+tramway+1986").encode()
    response = client.post("/register", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert count(User) == 0


def test_raw_invalid_utf8_bytes_in_a_passphrase_are_refused(client):
    token = gen_invitation(Role.CONTRIBUTOR)
    csrf = form_token(client)
    body = (f"csrf_token={csrf}&invitation={token}&pseudonym=Aliya&passphrase=").encode()
    body += b"purple elephant \xc3\x28 tramway"
    response = client.post("/register", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert count(User) == 0


@pytest.mark.parametrize(
    ("pseudonym", "passphrase"),
    [("x" * 5000, PASSPHRASE), ("", ""), ("Aliya\x00", PASSPHRASE), ("Aliya", "p\x00" * 600),
     ("Aliya", "x" * 100_000)],
    ids=["long-pseudonym", "empty", "nul-pseudonym", "nul-passphrase", "huge-passphrase"],
)
def test_bad_sign_in_fields_get_the_ordinary_refusal(client, pseudonym, passphrase):
    gen_user(Role.CONTRIBUTOR, pseudonym="Aliya")
    csrf = form_token(client)
    response = client.post("/login", data={"csrf_token": csrf, "pseudonym": pseudonym,
                                           "passphrase": passphrase})
    assert response.status_code == 401
    assert count(UserSession) == 0


def test_invalid_utf8_in_a_sign_in_body_is_refused(client):
    gen_user(Role.CONTRIBUTOR, pseudonym="Aliya")
    csrf = form_token(client)
    body = f"csrf_token={csrf}&pseudonym=Aliya&passphrase=".encode() + b"\xff\xfe\xfd"
    response = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    # Werkzeug drops a form it cannot decode, so this is refused even before the credentials.
    assert response.status_code == 400
    assert count(UserSession) == 0


def test_a_script_pseudonym_is_refused_and_its_echo_escaped(app):
    response = register_form(app.test_client(), gen_invitation(Role.CONTRIBUTOR), SCRIPT_NAME,
                             PASSPHRASE)
    assert response.status_code == 400  # markup is no name (incidents.services.pseudonyms)
    assert "<script>alert(1)" not in response.get_data(as_text=True)


def test_a_script_pseudonym_is_shown_escaped_on_the_account_and_admin_pages(app):
    # A name stored before look-alike checks existed (they refuse markup now).
    witness = gen_user(Role.CONTRIBUTOR, pseudonym="placeholder")
    witness.pseudonym, witness.pseudonym_key = SCRIPT_NAME, SCRIPT_NAME.casefold()
    get_session().commit()
    witness_client = app.test_client()
    sign_in(witness_client, witness)
    fresh_g()
    account = witness_client.get("/account/").get_data(as_text=True)
    assert "<script>" not in account
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in account
    admin_client = app.test_client()
    sign_in(admin_client, gen_user(Role.ADMIN))
    users = admin_client.get("/admin/users").get_data(as_text=True)
    assert "<script>" not in users
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in users


def test_markup_in_an_invitation_note_is_shown_escaped(app):
    admin_client = app.test_client()
    sign_in(admin_client, gen_user(Role.ADMIN))
    token = form_token(admin_client, "/admin/invitations")
    response = admin_client.post("/admin/invitations", data={
        "csrf_token": token, "role": "contributor", "expires": "7d",
        "note": '<img src=x onerror="alert(1)">'})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=" in html


def test_a_language_that_does_not_exist_is_refused_and_not_stored(client):
    client.get("/language/ru")
    response = client.get("/language/xx")
    assert response.status_code == 404
    with client.session_transaction() as session:
        assert session["lang"] == "ru"
    assert '<html lang="ru">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("expires", ["0d", "-1d", "1000d", "soon", "9" * 30])
def test_an_invitation_with_a_bad_lifetime_is_refused(app, expires):
    admin_client = app.test_client()
    sign_in(admin_client, gen_user(Role.ADMIN))
    token = form_token(admin_client, "/admin/invitations")
    response = admin_client.post("/admin/invitations", data={
        "csrf_token": token, "role": "contributor", "expires": expires})
    assert response.status_code == 400
