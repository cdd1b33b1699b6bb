"""Registration by invitation only: the invitation decides the role, and is used once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from incidents.core.clock import utcnow
from incidents.models import Invitation, Role, User
from incidents.services import invitations
from incidents.web.db import get_session
from tests.helpers import PASSPHRASE, gen_invitation
from tests.web.conftest import register_form

INVALID_INVITATION = "This invitation is not valid"
TOO_SHORT = "Choose a passphrase of at least 12 characters"
TOO_EASY = "This passphrase is too easy to guess"


def user_count() -> int:
    session = get_session()
    session.expire_all()
    return session.scalar(select(func.count()).select_from(User)) or 0


def test_a_valid_invitation_creates_an_account_with_its_role(client):
    token = gen_invitation(Role.RESEARCHER)
    response = register_form(client, token, "Saule", PASSPHRASE)
    assert response.status_code == 302
    user = get_session().scalar(select(User).where(User.pseudonym == "Saule"))
    assert user is not None
    assert user.role is Role.RESEARCHER
    assert client.get("/account/").status_code == 200


def test_an_expired_invitation_is_refused_and_nothing_is_stored(client):
    token = gen_invitation(Role.CONTRIBUTOR)
    session = get_session()
    invitation = session.scalars(select(Invitation)).one()
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    response = register_form(client, token, "Saule", PASSPHRASE)
    assert response.status_code == 400
    assert INVALID_INVITATION in response.get_data(as_text=True)
    assert user_count() == 0


def test_an_invitation_works_only_once(client, app):
    token = gen_invitation(Role.CONTRIBUTOR)
    assert register_form(client, token, "First", PASSPHRASE).status_code == 302
    second = register_form(app.test_client(), token, "Second", PASSPHRASE)
    assert second.status_code == 400
    assert INVALID_INVITATION in second.get_data(as_text=True)
    assert user_count() == 1


def test_a_forged_invitation_is_refused(client):
    gen_invitation(Role.ADMIN)
    response = register_form(client, "inv_" + "A" * 43, "Saule", PASSPHRASE)
    assert response.status_code == 400
    assert INVALID_INVITATION in response.get_data(as_text=True)
    assert user_count() == 0


def test_a_revoked_invitation_is_refused(client):
    token = gen_invitation(Role.CONTRIBUTOR)
    session = get_session()
    invitation = session.scalars(select(Invitation)).one()
    invitation.revoked_at = utcnow()
    session.commit()
    assert register_form(client, token, "Saule", PASSPHRASE).status_code == 400
    assert user_count() == 0


def test_a_role_slipped_into_the_form_is_ignored(client):
    token = gen_invitation(Role.CONTRIBUTOR)
    response = register_form(client, token, "Saule", PASSPHRASE, role="admin")
    assert response.status_code == 302
    user = get_session().scalar(select(User).where(User.pseudonym == "Saule"))
    assert user.role is Role.CONTRIBUTOR
    assert client.get("/admin/users").status_code == 403


def test_the_invitation_role_comes_from_the_invitation_not_the_cli_default(app):
    session = get_session()
    _inv, token = invitations.create(session, role=Role.REVIEWER, expires_in=timedelta(days=1))
    session.commit()
    response = register_form(app.test_client(), token, "Lawyer", PASSPHRASE)
    # A reviewer must enrol a second factor before anything else.
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/totp")


def test_two_concurrent_registrations_with_one_invitation_make_one_account(app):
    token = gen_invitation(Role.CONTRIBUTOR)
    clients = [app.test_client() for _ in range(2)]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def attempt(index: int) -> None:
        with app.app_context():
            barrier.wait()
            response = register_form(clients[index], token, f"Racer{index}", PASSPHRASE)
            statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 400]
    assert user_count() == 1


@pytest.mark.parametrize(
    ("passphrase", "expected"),
    [
        ("short", TOO_SHORT),
        ("correct horse battery staple", TOO_EASY),
        ("CorrectHorseBatteryStaple", TOO_EASY),
        ("my name is Zhanna really", TOO_EASY),
        ("aaaaaaaaaaaaaaaa", TOO_EASY),
        ("good words here\x00and more", "The passphrase contains a character we cannot accept"),
    ],
    ids=["too-short", "common", "common-squeezed", "contains-pseudonym", "repetitive", "nul"],
)
def test_a_weak_passphrase_is_refused_with_a_message_naming_it(client, passphrase, expected):
    token = gen_invitation(Role.CONTRIBUTOR)
    response = register_form(client, token, "Zhanna", passphrase)
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)  # each message names the passphrase
    assert user_count() == 0


def test_a_good_passphrase_is_accepted(client):
    token = gen_invitation(Role.CONTRIBUTOR)
    response = register_form(client, token, "Zhanna", "tulip orbit granite 7 harbour")
    assert response.status_code == 302
    assert user_count() == 1


def test_the_invitation_stays_usable_after_a_refused_passphrase(client):
    token = gen_invitation(Role.CONTRIBUTOR)
    assert register_form(client, token, "Zhanna", "short").status_code == 400
    assert register_form(client, token, "Zhanna", PASSPHRASE).status_code == 302
