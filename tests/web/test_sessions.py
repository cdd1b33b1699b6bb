"""Sessions live on the server: new at sign-in, ended by sign-out, suspension and inactivity."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from incidents.core.clock import utcnow
from incidents.models import Role, User, UserSession
from incidents.web.db import get_session
from tests.helpers import gen_token, gen_user
from tests.web.conftest import form_token, fresh_g, post_form, sign_in

COOKIE = "evidence_session"


def cookie(client) -> str | None:
    found = client.get_cookie(COOKIE)
    return found.value if found else None


def replay(app, value: str):
    """A new browser that presents an old cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other


def signed_in(client) -> bool:
    fresh_g()
    return client.get("/account/").status_code == 200


def live_sessions(user: User) -> int:
    session = get_session()
    session.expire_all()
    return session.scalar(
        select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)
    ) or 0


def test_signing_in_replaces_the_session_cookie(client, app):
    user = gen_user(Role.CONTRIBUTOR)
    form_token(client)  # the visitor now has a pre-login session cookie
    before = cookie(client)
    assert before
    sign_in(client, user)
    after = cookie(client)
    assert after
    assert after != before
    assert not signed_in(replay(app, before))
    assert signed_in(replay(app, after))


def test_signing_out_ends_the_session_on_the_server(client, app):
    user = gen_user(Role.CONTRIBUTOR)
    sign_in(client, user)
    old = cookie(client)
    assert post_form(client, "/logout", {}).status_code == 302
    assert live_sessions(user) == 0
    assert not signed_in(replay(app, old))


def test_a_staff_session_expires_after_inactivity(client):
    user = gen_user(Role.REVIEWER)
    sign_in(client, user)
    session = get_session()
    row = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    session.commit()
    assert not signed_in(client)
    assert live_sessions(user) == 0


def test_a_staff_session_survives_shorter_inactivity(client):
    user = gen_user(Role.ADMIN)
    sign_in(client, user)
    session = get_session()
    row = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.last_seen_at = utcnow() - timedelta(minutes=29)
    session.commit()
    assert signed_in(client)


def test_a_contributor_session_lasts_longer_than_a_staff_one(client):
    user = gen_user(Role.CONTRIBUTOR)
    sign_in(client, user)
    session = get_session()
    row = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    session.commit()
    assert signed_in(client)
    row.last_seen_at = utcnow() - timedelta(minutes=721)
    session.commit()
    assert not signed_in(client)


def admin_client(app):
    admin = gen_user(Role.ADMIN, pseudonym="Chief")
    client = app.test_client()
    sign_in(client, admin)
    return admin, client


def admin_post(client, path: str, data: dict[str, str]):
    fresh_g()
    token = form_token(client, "/admin/users")
    return client.post(path, data={"csrf_token": token, **data})


def test_suspension_ends_sessions_and_tokens(client, app):
    witness = gen_user(Role.CONTRIBUTOR, pseudonym="Witness")
    sign_in(client, witness)
    token = gen_token(witness)
    _admin, admin = admin_client(app)
    response = admin_post(admin, f"/admin/users/{witness.id}/suspend", {"suspended": "1"})
    assert response.status_code == 302
    assert live_sessions(witness) == 0
    assert not signed_in(client)
    fresh_g()
    api = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401


def test_a_suspended_user_cannot_sign_in_and_is_told_nothing_more(client, app):
    witness = gen_user(Role.CONTRIBUTOR, pseudonym="Witness")
    _admin, admin = admin_client(app)
    admin_post(admin, f"/admin/users/{witness.id}/suspend", {"suspended": "1"})
    response = post_form(client, "/login", {"pseudonym": "Witness",
                                            "passphrase": "purple elephant tramway 1986"})
    assert response.status_code == 401
    assert "The pseudonym, passphrase or code is not correct." in response.get_data(as_text=True)


def test_an_admin_changes_a_role(client, app):
    witness = gen_user(Role.CONTRIBUTOR, pseudonym="Witness")
    _admin, admin = admin_client(app)
    response = admin_post(admin, f"/admin/users/{witness.id}/role", {"role": "researcher"})
    assert response.status_code == 302
    session = get_session()
    session.expire_all()
    assert session.get(User, witness.id).role is Role.RESEARCHER


def test_promotion_to_staff_ends_sessions_until_a_second_factor_is_enrolled(client, app):
    witness = gen_user(Role.CONTRIBUTOR, pseudonym="Witness")
    sign_in(client, witness)
    _admin, admin = admin_client(app)
    admin_post(admin, f"/admin/users/{witness.id}/role", {"role": "reviewer"})
    assert not signed_in(client)


def test_an_unknown_role_is_refused(app):
    witness = gen_user(Role.CONTRIBUTOR, pseudonym="Witness")
    _admin, admin = admin_client(app)
    response = admin_post(admin, f"/admin/users/{witness.id}/role", {"role": "wizard"})
    assert response.status_code == 400
    get_session().expire_all()
    assert get_session().get(User, witness.id).role is Role.CONTRIBUTOR


def test_an_admin_cannot_demote_themselves(app):
    me, admin = admin_client(app)
    response = admin_post(admin, f"/admin/users/{me.id}/role", {"role": "contributor"})
    assert response.status_code == 400
    assert "You cannot change your own role." in response.get_data(as_text=True)
    get_session().expire_all()
    assert get_session().get(User, me.id).role is Role.ADMIN


def test_an_admin_cannot_suspend_themselves(app):
    me, admin = admin_client(app)
    response = admin_post(admin, f"/admin/users/{me.id}/suspend", {"suspended": "1"})
    assert response.status_code == 400
    get_session().expire_all()
    assert not get_session().get(User, me.id).suspended
    assert signed_in(admin)
