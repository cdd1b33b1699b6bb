from __future__ import annotations

from incidents.models import Role
from tests.helpers import gen_user, login


def test_home_page_is_public_and_explains_protection(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "encrypted" in response.get_data(as_text=True)


def test_a_contributor_signs_in_and_sees_their_account(client, app):
    user = gen_user(Role.CONTRIBUTOR, pseudonym="Aigerim")
    login(client, user)
    page = client.get("/account/")
    assert page.status_code == 200
    assert "Aigerim" in page.get_data(as_text=True)


def test_a_reviewer_signs_in_with_a_second_factor(client, app):
    user = gen_user(Role.REVIEWER)
    login(client, user)
    assert client.get("/account/").status_code == 200
