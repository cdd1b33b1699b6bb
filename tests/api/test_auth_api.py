"""The auth part of the JSON API: register, token, me; tokens hashed, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from incidents.models import ApiToken, Role, User
from incidents.models.base import Base
from incidents.web.db import get_session
from tests.helpers import PASSPHRASE, current_code, gen_invitation, gen_token, gen_user, next_code
from tests.web.conftest import form_token, fresh_g, sign_in


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def users() -> int:
    session = get_session()
    session.expire_all()
    return session.scalar(select(func.count()).select_from(User)) or 0


def register(client, **fields):
    body = {"invitation": gen_invitation(Role.CONTRIBUTOR), "pseudonym": "Mobile",
            "passphrase": PASSPHRASE, **fields}
    return client.post("/api/v1/auth/register", json=body)


def test_an_app_registers_with_an_invitation(client):
    response = register(client)
    assert response.status_code == 201
    assert response.get_json() == {"pseudonym": "Mobile", "role": "contributor"}


def test_a_role_in_the_register_json_is_ignored(client):
    response = register(client, role="admin")
    assert response.get_json()["role"] == "contributor"


def test_a_weak_passphrase_via_the_api_names_the_field(client):
    response = register(client, passphrase="correct horse battery staple")
    assert response.status_code == 400
    assert response.get_json()["field"] == "passphrase"
    assert users() == 0


def test_a_contributor_gets_a_token_and_uses_it(client):
    gen_user(Role.CONTRIBUTOR, pseudonym="Aliya")
    response = client.post("/api/v1/auth/token",
                           json={"pseudonym": "Aliya", "passphrase": PASSPHRASE})
    assert response.status_code == 201
    token = response.get_json()["token"]
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.get_json()["pseudonym"] == "Aliya"


def test_staff_need_a_valid_second_factor_code_for_a_token(client):
    user = gen_user(Role.REVIEWER, pseudonym="Lawyer")
    base = {"pseudonym": "Lawyer", "passphrase": PASSPHRASE}
    assert client.post("/api/v1/auth/token", json=base).status_code == 401
    wrong = "000000" if current_code(user) != "000000" else "111111"
    assert client.post("/api/v1/auth/token", json={**base, "totp": wrong}).status_code == 401
    get_session().refresh(user)
    code = next_code(user)
    assert client.post("/api/v1/auth/token", json={**base, "totp": code}).status_code == 201
    # The same code again, inside its window, is a replay.
    assert client.post("/api/v1/auth/token", json={**base, "totp": code}).status_code == 401


def test_staff_without_a_second_factor_cannot_get_a_token_by_api(client):
    gen_user(Role.ADMIN, pseudonym="Chief", with_totp=False)
    response = client.post("/api/v1/auth/token",
                           json={"pseudonym": "Chief", "passphrase": PASSPHRASE, "totp": ""})
    assert response.status_code == 401


def test_a_wrong_passphrase_and_an_unknown_pseudonym_look_the_same(client):
    gen_user(Role.CONTRIBUTOR, pseudonym="Aliya")
    known = client.post("/api/v1/auth/token", json={"pseudonym": "Aliya", "passphrase": "x" * 13})
    unknown = client.post("/api/v1/auth/token",
                          json={"pseudonym": "Nobody", "passphrase": "x" * 13})
    assert known.status_code == unknown.status_code == 401
    assert known.get_json() == unknown.get_json()


def test_a_token_made_on_the_account_page_is_shown_once_and_revocable(app):
    user = gen_user(Role.CONTRIBUTOR, pseudonym="Aliya")
    client = app.test_client()
    sign_in(client, user)
    csrf = form_token(client, "/account/")
    page = client.post("/account/tokens", data={"csrf_token": csrf, "name": "phone"})
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    token = html.split('<code class="secret">', 1)[1].split("<", 1)[0]
    assert token.startswith("evd_")
    fresh_g()
    assert token not in client.get("/account/").get_data(as_text=True)
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    row = get_session().scalars(select(ApiToken)).one()
    fresh_g()
    csrf = form_token(client, "/account/")
    assert client.post(f"/account/tokens/{row.id}/revoke",
                       data={"csrf_token": csrf}).status_code == 302
    fresh_g()
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_someone_elses_token_cannot_be_revoked(app):
    owner = gen_user(Role.CONTRIBUTOR, pseudonym="Owner")
    token = gen_token(owner)
    row = get_session().scalars(select(ApiToken)).one()
    other = app.test_client()
    sign_in(other, gen_user(Role.CONTRIBUTOR, pseudonym="Other"))
    csrf = form_token(other, "/account/")
    response = other.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 404
    fresh_g()
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("token", ["evd_" + "A" * 43, "", "x" * 5000, "evd_\x00", "inv_abc"])
def test_a_forged_token_is_refused(client, token):
    gen_token(gen_user(Role.CONTRIBUTOR))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_tokens_are_stored_only_as_hashes(app):
    token = gen_token(gen_user(Role.CONTRIBUTOR))
    session = get_session()
    session.commit()
    found = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            if any(token in str(value) or token[4:] in str(value) for value in row):
                found.append(table.name)
    assert found == []
    assert session.execute(text("select 1")).scalar() == 1


def test_a_cli_token_works_for_staff_before_enrolment(client):
    user = gen_user(Role.REVIEWER, with_totp=False)
    token = gen_token(user)
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["totp_enabled"] is False


@pytest.mark.parametrize(
    "body",
    [b"[]", b'"text"', b"1", b"null", b"{not json", b'{"pseudonym": "\xff\xfe"}', b""],
    ids=["array", "string", "number", "null", "broken", "invalid-utf8", "empty"],
)
def test_a_register_body_that_is_not_a_json_object_is_refused(client, body):
    response = client.post("/api/v1/auth/register", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"]
    assert users() == 0


@pytest.mark.parametrize(
    "fields",
    [{"pseudonym": "x" * 5000}, {"pseudonym": ""}, {"pseudonym": 5}, {"pseudonym": ["a"]},
     {"pseudonym": "Ali\x00ya"}, {"pseudonym": "Ali\u202eya"}, {"passphrase": "p" * 5000},
     {"passphrase": "purple\x00elephant tramway"}, {"passphrase": "purple \ud800 elephant tram"},
     {"pseudonym": "\ud800abc"}, {"language": "xx"}, {"language": 7}, {"invitation": None},
     {"pseudonym": "<script>alert(1)</script>", "passphrase": ""}],
    ids=["long", "empty", "number", "list", "nul", "rtl", "long-pass", "nul-pass",
         "surrogate-pass", "surrogate-name", "language", "language-type", "no-invitation",
         "script-empty-pass"],
)
def test_bad_register_fields_are_a_clear_400_and_store_nothing(client, fields):
    response = register(client, **fields)
    assert response.status_code in (400, 413)
    body = response.get_json()
    assert body["message"]
    assert body.get("field") in set(fields) | {None}
    assert users() == 0


@pytest.mark.parametrize(
    "fields",
    [{"pseudonym": "x" * 5000}, {"passphrase": "x" * 5000}, {"pseudonym": 3},
     {"passphrase": "purple \ud800 elephant tram"}, {"totp": "9" * 50}],
)
def test_bad_token_request_fields_are_refused_without_a_crash(client, fields):
    gen_user(Role.CONTRIBUTOR, pseudonym="Aliya")
    body = {"pseudonym": "Aliya", "passphrase": PASSPHRASE, **fields}
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code in (400, 401)


def test_a_script_pseudonym_is_refused_naming_the_field(client):
    # Markup is no name (letters of one alphabet, digits, spaces and - _ . ' only); it
    # would be shown escaped anyway.
    response = register(client, pseudonym="<script>alert(1)</script>")
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert response.get_json()["field"] == "pseudonym"
