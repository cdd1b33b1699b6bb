"""Signing in: same answer for unknown pseudonyms, throttling, safe redirects, second factor."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
import redis
from sqlalchemy import select

from incidents.core.clock import utcnow
from incidents.models import Role, User, UserSession
from incidents.services.throttle import account_key
from incidents.web.db import get_session
from incidents.web.permissions import ENROLMENT_ENDPOINTS, PERMISSIONS, PUBLIC
from tests.conftest import REDIS_URL
from tests.helpers import PASSPHRASE, current_code, gen_user, next_code
from tests.web.conftest import form_token, fresh_g, is_russian, post_form
from tests.web.route_walk import walk_routes

WRONG = "The pseudonym, passphrase or code is not correct."


@pytest.fixture
def throttled(app_with):
    return app_with(login_free_attempts=3, login_delay_base_seconds=60)


def attempt(client, pseudonym: str, passphrase: str = "wrong passphrase 1234", **kwargs):
    return post_form(client, "/login", {"pseudonym": pseudonym, "passphrase": passphrase},
                     **kwargs)


def error_text(response) -> str:
    html = response.get_data(as_text=True)
    return html.split('role="alert">', 1)[1].split("<", 1)[0] if 'role="alert">' in html else ""


def test_an_unknown_and_a_known_pseudonym_get_the_same_answer(client):
    gen_user(Role.CONTRIBUTOR, pseudonym="Known")
    known, unknown = attempt(client, "Known"), attempt(client, "Nobody")
    assert known.status_code == unknown.status_code == 401
    assert error_text(known) == error_text(unknown) == WRONG


def test_a_pseudonym_is_throttled_after_the_configured_number_of_attempts(throttled):
    gen_user(Role.CONTRIBUTOR, pseudonym="Known")
    client = throttled.test_client()
    assert [attempt(client, "Known").status_code for _ in range(3)] == [401, 401, 401]
    # Even the right passphrase is refused now: the attacker learns nothing.
    final = attempt(client, "Known", PASSPHRASE)
    assert final.status_code == 429
    assert "Too many attempts" in final.get_data(as_text=True)
    assert final.headers.get("Retry-After")


def test_throttling_treats_unknown_and_known_pseudonyms_alike(throttled):
    gen_user(Role.CONTRIBUTOR, pseudonym="Known")
    client = throttled.test_client()
    answers = {}
    for name in ("Known", "Nobody"):
        responses = [attempt(client, name) for _ in range(4)]
        answers[name] = [(r.status_code, error_text(r)) for r in responses]
    assert answers["Known"] == answers["Nobody"]
    assert [status for status, _ in answers["Known"]] == [401, 401, 401, 429]


def test_throttling_one_pseudonym_leaves_others_able_to_sign_in(throttled):
    gen_user(Role.CONTRIBUTOR, pseudonym="Victim")
    gen_user(Role.CONTRIBUTOR, pseudonym="Other")
    client = throttled.test_client()
    for _ in range(4):
        attempt(client, "Victim")
    assert attempt(client, "Other", PASSPHRASE).status_code == 302


def test_case_and_spacing_do_not_give_a_fresh_allowance(throttled):
    client = throttled.test_client()
    for name in ("Victim", "VICTIM", " victim "):
        attempt(client, name)
    assert attempt(client, "vIcTiM").status_code == 429


def test_the_too_many_attempts_page_is_in_the_users_language(throttled):
    client = throttled.test_client()
    client.get("/language/ru")
    for _ in range(3):
        attempt(client, "Someone")
    response = attempt(client, "Someone")
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert '<html lang="ru">' in html
    assert is_russian(error_text(response)), error_text(response)


def test_the_api_token_endpoint_shares_the_throttle_and_answers_json(throttled):
    client = throttled.test_client()
    for _ in range(3):
        attempt(client, "Someone")
    response = client.post("/api/v1/auth/token",
                           json={"pseudonym": "Someone", "passphrase": "x" * 12})
    assert response.status_code == 429
    assert response.get_json()["error"] == "too_many_requests"


@pytest.mark.skipif(not REDIS_URL, reason="runs with TEST_REDIS_URL (the PostgreSQL+Redis run)")
def test_with_redis_configured_the_throttle_counts_in_redis(throttled):
    server = redis.Redis.from_url(REDIS_URL)
    server.flushdb()
    attempt(throttled.test_client(), "Someone")
    keys = [key.decode() for key in server.keys("*")]
    assert f"throttle:{account_key('someone')}" in keys, keys


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)",
     "https:evil.example", "/\tevil", "\\\\evil.example", "http://localhost.evil.example/"],
)
def test_after_sign_in_only_same_origin_paths_are_followed(client, target):
    gen_user(Role.CONTRIBUTOR, pseudonym="Known")
    response = attempt(client, "Known", PASSPHRASE, query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"


def test_after_sign_in_a_same_origin_next_path_is_followed(client):
    gen_user(Role.CONTRIBUTOR, pseudonym="Known")
    response = attempt(client, "Known", PASSPHRASE, query_string={"next": "/account/?tab=1"})
    assert response.headers["Location"] == "/account/?tab=1"


def test_the_language_switch_follows_only_same_origin_paths(client):
    response = client.get("/language/kk", query_string={"next": "//evil.example/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- second factor -------------------------------------------------------------------------


def staff_first_step(client, user: User):
    response = attempt(client, user.pseudonym, PASSPHRASE)
    assert response.status_code == 200
    assert 'name="totp"' in response.get_data(as_text=True)
    return response


def second_step(client, code: str):
    return post_form(client, "/login", {"totp": code})


def test_staff_need_the_code_after_the_passphrase(client):
    user = gen_user(Role.REVIEWER)
    staff_first_step(client, user)
    assert client.get("/account/").status_code == 302  # not signed in yet
    get_session().refresh(user)
    assert second_step(client, next_code(user)).status_code == 302
    assert client.get("/account/").status_code == 200


def test_sending_the_passphrase_again_does_not_skip_the_second_factor(client):
    user = gen_user(Role.ADMIN)
    staff_first_step(client, user)
    # The session now holds a pending sign-in; a second passphrase post must not finish it.
    repeat = attempt(client, user.pseudonym, PASSPHRASE)
    assert repeat.status_code == 200
    assert 'name="totp"' in repeat.get_data(as_text=True)
    assert client.get("/admin/users").status_code == 302


def test_a_wrong_code_does_not_sign_in(client):
    user = gen_user(Role.REVIEWER)
    staff_first_step(client, user)
    response = second_step(client, "000000" if current_code(user) != "000000" else "111111")
    assert response.status_code == 401
    assert client.get("/account/").status_code == 302


def test_a_code_replayed_in_its_window_is_refused(client, app):
    user = gen_user(Role.REVIEWER)
    staff_first_step(client, user)
    get_session().refresh(user)
    code = next_code(user)
    assert second_step(client, code).status_code == 302
    other = app.test_client()
    staff_first_step(other, user)
    assert second_step(other, code).status_code == 401


def test_the_second_step_expires_after_a_few_minutes(client):
    user = gen_user(Role.REVIEWER)
    staff_first_step(client, user)
    db = get_session()
    for row in db.scalars(select(UserSession).where(UserSession.pending.is_(True))):
        row.created_at = utcnow() - timedelta(hours=1)
    db.commit()
    get_session().refresh(user)
    response = second_step(client, next_code(user))
    assert response.status_code == 401
    assert client.get("/account/").status_code == 302


def enrol(client, app) -> list[str]:
    """Go through the enrolment page as the signed-in user; returns the recovery codes."""
    page = client.get("/totp").get_data(as_text=True)
    secret = page.split('class="secret">', 1)[1].split("<", 1)[0]
    response = post_form(client, "/totp", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    return [part.split("</code>")[0] for part in html.split("<li><code>")[1:]]


def register_staff(app, role: Role = Role.REVIEWER):
    """A staff member who has signed up but not enrolled a second factor yet, signed in."""
    user = gen_user(role, with_totp=False)
    client = app.test_client()
    assert attempt(client, user.pseudonym, PASSPHRASE).status_code == 302
    return user, client


def test_enrolment_with_a_wrong_code_fails(app):
    user, client = register_staff(app)
    client.get("/totp")
    response = post_form(client, "/totp", {"code": "12345"})
    assert response.status_code == 400
    assert "not correct" in response.get_data(as_text=True)
    session = get_session()
    session.refresh(user)
    assert not user.totp_enabled
    assert client.get("/account/").headers["Location"] == "/totp"


def test_enrolment_shows_the_key_a_qr_code_and_recovery_codes(app):
    _user, client = register_staff(app)
    assert client.get("/totp").status_code == 200
    qr = client.get("/totp/qr.svg")
    assert qr.status_code == 200
    assert qr.mimetype == "image/svg+xml"
    codes = enrol(client, app)
    assert len(codes) == 10
    assert client.get("/account/").status_code == 200
    # Once active, the secret is never shown again.
    assert client.get("/totp/qr.svg").status_code == 404


def test_opening_the_enrolment_page_never_resets_an_active_factor(app):
    user, client = register_staff(app)
    enrol(client, app)
    session = get_session()
    session.refresh(user)
    secret = user.totp_secret
    response = client.get("/totp")  # e.g. an <img src> planted on another site
    assert response.status_code == 302
    session.refresh(user)
    assert user.totp_enabled
    assert user.totp_secret == secret


def test_a_recovery_code_works_once(app):
    user, client = register_staff(app)
    codes = enrol(client, app)
    for expected in (302, 401):
        fresh = app.test_client()
        staff_first_step(fresh, user)
        assert second_step(fresh, codes[0]).status_code == expected


def test_recovery_codes_are_stored_only_as_hashes(app):
    user, client = register_staff(app)
    codes = enrol(client, app)
    session = get_session()
    stored = {row.code_hash for row in session.scalar(
        select(User).where(User.id == user.id)).recovery_codes}
    assert not stored & set(codes)


def test_staff_without_a_second_factor_are_sent_to_enrolment_from_every_other_page(app):
    _user, client = register_staff(app, Role.ADMIN)
    checked = 0
    for rule, _method, path in walk_routes(app, methods={"GET"}):
        if PERMISSIONS.get(rule.endpoint) == PUBLIC or rule.endpoint in ENROLMENT_ENDPOINTS:
            continue
        fresh_g()
        response = client.get(path)
        if path.startswith("/api/"):
            assert response.status_code == 403, path
        else:
            assert response.status_code == 302, path
            assert response.headers["Location"] in ("/totp", "/account/passphrase"), path
        checked += 1
    assert checked >= 3


def test_staff_without_a_second_factor_get_403_from_the_api_with_a_session(app):
    _user, client = register_staff(app)
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


def test_the_second_factor_can_be_replaced_only_by_a_posted_form(app):
    user, client = register_staff(app)
    enrol(client, app)
    token = form_token(client, "/account/")
    get_session().refresh(user)
    response = client.post("/account/totp/disable", data={
        "csrf_token": token, "passphrase": PASSPHRASE, "code": next_code(user)})
    assert response.headers["Location"] == "/totp"
    session = get_session()
    session.refresh(user)
    assert not user.totp_enabled
