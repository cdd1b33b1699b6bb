"""Attacks on the credential steps (issue 11, item 1): each test is the attack, sent as HTTP.

One counter per account for every step (passphrase, second factor, recovery code, API
token), whatever extra fields the attacker adds; delays that grow, never a long wall.
"""

from __future__ import annotations

import secrets
import threading
import time

from sqlalchemy import func, select

from incidents.models import AuditEvent, Role
from incidents.web.db import get_session
from tests.helpers import PASSPHRASE, gen_user, next_code
from tests.web.conftest import post_form


def wrong_code(right: str) -> str:
    return "000000" if right != "000000" else "111111"


def first_step(client, user) -> None:
    response = post_form(client, "/login", {"pseudonym": user.pseudonym,
                                            "passphrase": PASSPHRASE})
    assert 'name="totp"' in response.get_data(as_text=True)


def checked_codes(user) -> int:
    """How many second-factor guesses the server actually evaluated for `user`."""
    return get_session().scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "login_failed", AuditEvent.subject_id == user.id)) or 0


def test_sixty_code_guesses_each_with_a_random_pseudonym_field_are_throttled(app_with):
    app = app_with(login_free_attempts=5, login_delay_base_seconds=60)
    user = gen_user(Role.REVIEWER)
    client = app.test_client()
    first_step(client, user)
    get_session().refresh(user)
    right = next_code(user)
    statuses = []
    for _ in range(60):
        # The attack of the report: a fresh `pseudonym` on every guess.
        response = post_form(client, "/login", {"totp": wrong_code(right),
                                                "pseudonym": secrets.token_hex(8)})
        statuses.append(response.status_code)
    assert statuses.count(429) >= 54, statuses
    # The passphrase attempt was the first of the account's five free ones.
    assert checked_codes(user) <= 4
    # And the right code is refused too while the account waits: guessing learns nothing.
    final = post_form(client, "/login", {"totp": right, "pseudonym": "x"})
    assert final.status_code == 429
    assert int(final.headers["Retry-After"]) > 0
    assert client.get("/account/").status_code == 302


def test_code_guesses_and_passphrase_guesses_spend_from_one_counter(app_with):
    app = app_with(login_free_attempts=3, login_delay_base_seconds=60)
    user = gen_user(Role.ADMIN)
    stranger = app.test_client()
    for _ in range(2):
        post_form(stranger, "/login", {"pseudonym": user.pseudonym, "passphrase": "nope" * 4})
    holder = app.test_client()
    first_step(holder, user)  # the third attempt of the account
    get_session().refresh(user)
    response = post_form(holder, "/login", {"totp": next_code(user)})
    assert response.status_code == 429  # a fourth, on the same account's counter
    api = app.test_client().post("/api/v1/auth/token", json={
        "pseudonym": user.pseudonym.upper(), "passphrase": PASSPHRASE,
        "totp": next_code(user)})
    assert api.status_code == 429


def test_a_stranger_hammering_a_pseudonym_delays_the_witness_only_briefly(app_with):
    app = app_with(login_free_attempts=2, login_delay_base_seconds=1,
                   login_delay_max_seconds=2)
    witness = gen_user(Role.CONTRIBUTOR, pseudonym="Aigerim")
    stranger = app.test_client()
    waits = []
    for _ in range(40):
        response = post_form(stranger, "/login", {"pseudonym": "aigerim",
                                                  "passphrase": "guess guess guess"})
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
    assert waits
    assert max(waits) <= 2  # never a quarter-hour wall
    time.sleep(2.1)
    phone = app.test_client()
    response = post_form(phone, "/login", {"pseudonym": witness.pseudonym,
                                           "passphrase": PASSPHRASE})
    assert response.status_code == 302


def test_free_attempts_arriving_at_the_same_moment_are_all_free(app_with):
    # Each attempt's time must be read after the attempt before it finished (Redis's clock,
    # or the database row's lock): read earlier, the free slot of the attempt that ran
    # first looked like a wait to the second, and a witness's retry was refused with 429.
    app = app_with(login_free_attempts=5, login_delay_base_seconds=60)
    statuses: list[int] = []

    def attempt(pseudonym: str, barrier: threading.Barrier) -> None:
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            statuses.append(post_form(client, "/login", {
                "pseudonym": pseudonym, "passphrase": "wrong passphrase 9"}).status_code)

    for _ in range(8):
        pseudonym = gen_user(Role.CONTRIBUTOR).pseudonym
        barrier = threading.Barrier(3)
        threads = [threading.Thread(target=attempt, args=(pseudonym, barrier))
                   for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [401] * 24


def test_the_token_api_answers_a_right_staff_passphrase_like_a_wrong_one(client):
    user = gen_user(Role.REVIEWER)
    right = client.post("/api/v1/auth/token", json={"pseudonym": user.pseudonym,
                                                    "passphrase": PASSPHRASE,
                                                    "totp": "000000"})
    wrong = client.post("/api/v1/auth/token", json={"pseudonym": user.pseudonym,
                                                    "passphrase": "wrong passphrase 9",
                                                    "totp": "000000"})
    missing = client.post("/api/v1/auth/token", json={"pseudonym": user.pseudonym,
                                                      "passphrase": PASSPHRASE})
    assert right.status_code == wrong.status_code == missing.status_code == 401
    assert right.get_json() == wrong.get_json() == missing.get_json()


def test_a_successful_sign_in_starts_the_count_over(app_with):
    app = app_with(login_free_attempts=3, login_delay_base_seconds=60)
    user = gen_user(Role.CONTRIBUTOR)
    client = app.test_client()
    for _ in range(2):
        post_form(client, "/login", {"pseudonym": user.pseudonym, "passphrase": "no" * 8})
    ok = post_form(client, "/login", {"pseudonym": user.pseudonym, "passphrase": PASSPHRASE})
    assert ok.status_code == 302
    other = app.test_client()
    for _ in range(3):
        answer = post_form(other, "/login", {"pseudonym": user.pseudonym,
                                             "passphrase": "no" * 8})
        assert answer.status_code == 401
