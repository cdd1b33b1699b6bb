"""Attacks on the second factor, sessions and tokens (issue 11, item 8), sent as HTTP."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from incidents.core.clock import utcnow
from incidents.models import ApiToken, Role, UserSession
from incidents.services import totp
from incidents.web.db import get_session
from tests.helpers import PASSPHRASE, current_code, gen_token, gen_user, next_code
from tests.web.conftest import form_token, fresh_g, post_form, sign_in
from tests.web.test_sessions import COOKIE, cookie, replay, signed_in

NEW_PASSPHRASE = "another quiet harbour at dawn 77"


def factor_active(user) -> bool:
    session = get_session()
    session.expire_all()
    session.refresh(user)
    return bool(user.totp_enabled)


def test_a_borrowed_session_and_its_csrf_token_cannot_remove_the_second_factor(client):
    user = gen_user(Role.REVIEWER)
    sign_in(client, user)
    token = form_token(client, "/account/")
    bare = client.post("/account/totp/disable", data={"csrf_token": token})
    wrong_code = client.post("/account/totp/disable", data={
        "csrf_token": token, "passphrase": PASSPHRASE, "code": "000000"})
    get_session().refresh(user)
    wrong_passphrase = client.post("/account/totp/disable", data={
        "csrf_token": token, "passphrase": "not my passphrase", "code": next_code(user)})
    assert bare.status_code == wrong_code.status_code == wrong_passphrase.status_code == 400
    assert factor_active(user)


def test_removing_the_second_factor_with_passphrase_and_current_code_works(client):
    user = gen_user(Role.CONTRIBUTOR)
    totp.begin_enrolment(user)
    totp.confirm_enrolment(get_session(), user, current_code(user))
    get_session().commit()
    sign_in(client, user)
    token = form_token(client, "/account/")
    get_session().refresh(user)
    response = client.post("/account/totp/disable", data={
        "csrf_token": token, "passphrase": PASSPHRASE, "code": next_code(user)})
    assert response.status_code == 302
    assert not factor_active(user)


def test_the_secret_key_alone_does_not_skip_the_passphrase_step(app, client):
    """Forge the old 'passphrase verified' cookie with the secret key: no sign-in."""
    user = gen_user(Role.REVIEWER)
    serializer: URLSafeTimedSerializer = SecureCookieSessionInterface().get_signing_serializer(app)
    forged = serializer.dumps({"pending_user": user.id, "pending_since": int(time.time()),
                               "pending_sign_in": "made-up-token"})
    client.set_cookie(COOKIE, forged)
    get_session().refresh(user)
    response = post_form(client, "/login", {"totp": next_code(user)})
    assert response.status_code == 401
    assert not signed_in(client)


def test_a_passphrase_change_ends_every_other_session_and_can_revoke_tokens(app, client):
    user = gen_user(Role.CONTRIBUTOR)
    api_token = gen_token(user)
    other = app.test_client()
    sign_in(other, user)
    sign_in(client, user)
    response = post_form(client, "/account/passphrase", {
        "current": PASSPHRASE, "new": NEW_PASSPHRASE, "revoke_tokens": "yes"})
    assert response.status_code == 302
    assert signed_in(client)  # the browser that changed it stays signed in
    assert not signed_in(other)
    fresh_g()
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {api_token}"})
    assert me.status_code == 401


def test_the_passphrase_page_offers_to_revoke_tokens(client):
    sign_in(client, gen_user(Role.CONTRIBUTOR))
    page = client.get("/account/passphrase").get_data(as_text=True)
    assert 'name="revoke_tokens"' in page


def test_a_staff_session_ends_twelve_hours_after_sign_in_however_busy(app, client):
    user = gen_user(Role.REVIEWER)
    sign_in(client, user)
    session = get_session()
    row = session.query(UserSession).filter_by(user_id=user.id, pending=False).one()
    row.created_at = utcnow() - timedelta(hours=12, minutes=1)
    row.last_seen_at = utcnow()  # active a moment ago
    session.commit()
    assert not signed_in(client)


def test_a_witness_session_lasts_thirty_days_at_most(app_with):
    app = app_with(contributor_session_minutes=60 * 24 * 60)  # idle limit out of the way
    user = gen_user(Role.CONTRIBUTOR)
    client = app.test_client()
    sign_in(client, user)
    session = get_session()
    row = session.query(UserSession).filter_by(user_id=user.id).one()
    row.created_at = utcnow() - timedelta(days=29)
    row.last_seen_at = utcnow()
    session.commit()
    assert signed_in(client)
    row.created_at = utcnow() - timedelta(days=30, minutes=1)
    row.last_seen_at = utcnow()
    session.commit()
    assert not signed_in(client)


def test_an_api_token_expires_after_ninety_days_and_says_so_at_creation(client):
    user = gen_user(Role.CONTRIBUTOR)
    answer = client.post("/api/v1/auth/token", json={"pseudonym": user.pseudonym,
                                                     "passphrase": PASSPHRASE})
    assert answer.status_code == 201
    body = answer.get_json()
    expires = body["expires_at"]
    assert expires.startswith(str((utcnow() + timedelta(days=90)).date()))
    fresh_g()
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    session = get_session()
    row = session.query(ApiToken).filter_by(user_id=user.id).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    fresh_g()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_the_account_page_shows_a_new_tokens_expiry(client):
    sign_in(client, gen_user(Role.CONTRIBUTOR))
    response = post_form(client, "/account/tokens", {"name": "phone"})
    assert response.status_code == 201
    assert "expires on" in response.get_data(as_text=True).replace("It expires", "expires")


def test_the_session_cookie_carries_no_hash_of_the_clients_address(app, client):
    user = gen_user(Role.CONTRIBUTOR)
    sign_in(client, user)
    value = cookie(client)
    assert value
    data = SecureCookieSessionInterface().get_signing_serializer(app).loads(value)
    assert "_id" not in data
    # Nor anything shaped like Flask-Login's SHA-512 identifier.
    identifier = hashlib.sha512(b"127.0.0.1|werkzeug").hexdigest()
    assert not re.search(r"[0-9a-f]{128}", repr(data))
    assert identifier not in repr(data)
    assert signed_in(replay(app, value))


def test_hsts_is_sent_whenever_cookies_are_secure(app_with):
    secure = app_with(secure_cookies=True).test_client()
    header = secure.get("/", base_url="https://localhost").headers.get(
        "Strict-Transport-Security", "")
    assert "max-age=63072000" in header
    plain = app_with(secure_cookies=False).test_client()
    assert "Strict-Transport-Security" not in plain.get("/").headers


def test_quick_exit_is_a_page_that_ends_the_session_even_for_a_kept_cookie(app, client):
    user = gen_user(Role.CONTRIBUTOR)
    sign_in(client, user)
    kept = cookie(client)
    assert kept
    fresh_g()
    response = client.get("/exit")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    for kind in ('"cache"', '"cookies"', '"storage"'):
        assert kind in response.headers["Clear-Site-Data"]
    html = response.get_data(as_text=True)
    target = app.extensions["settings"].quick_exit_url
    assert f'http-equiv="refresh" content="0; url={target}"' in html
    assert "Evidence" not in html
    # Someone who copied the cookie before the exit finds the session gone on the server.
    assert not signed_in(replay(app, kept))


def test_the_quick_exit_destination_is_configurable(app_with):
    client = app_with(quick_exit_url="https://weather.example/almaty").test_client()
    html = client.get("/exit").get_data(as_text=True)
    assert 'url=https://weather.example/almaty"' in html
