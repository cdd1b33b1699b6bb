"""The operator's commands: init, create-admin, invite, token create (DESIGN §8)."""

from __future__ import annotations

import dataclasses
import stat

from incidents.app import create_app
from incidents.core.clock import utcnow
from incidents.models import Invitation, Role, User
from incidents.web.db import get_session
from tests.helpers import PASSPHRASE, gen_user
from tests.web.conftest import register_form


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_a_private_instance_and_can_run_twice(settings, tmp_path):
    fresh = dataclasses.replace(settings, instance_path=tmp_path / "new", database_url="")
    app = create_app(fresh)
    runner = app.test_cli_runner()
    context = app.app_context()  # the `flask` command pushes one; the bare runner does not
    context.push()
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    instance = tmp_path / "new"
    secret = (instance / "secret_key").read_text()
    assert mode(instance) == 0o700
    assert mode(instance / "secret_key") == 0o600
    assert mode(instance / "keys") == 0o700
    for key_file in (instance / "keys").iterdir():
        if key_file.is_file():
            assert mode(key_file) == 0o600, key_file.name
    assert (instance / "incidents.sqlite3").exists()
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0, second.output
    assert (instance / "secret_key").read_text() == secret
    app.extensions["database"].engine.dispose()
    context.pop()


def test_create_admin_prints_a_one_time_passphrase_that_signs_in(app, runner):
    result = runner.invoke(args=["create-admin", "Chief"])
    assert result.exit_code == 0, result.output
    one_time = last_line(result.output)
    client = app.test_client()
    csrf = client.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1]
    response = client.post("/login", data={"csrf_token": csrf.split('"')[0], "pseudonym": "Chief",
                                           "passphrase": one_time})
    assert response.status_code == 302
    assert client.get("/admin/users").headers["Location"] == "/account/passphrase"


def test_create_admin_refuses_a_taken_name(runner):
    assert runner.invoke(args=["create-admin", "Chief"]).exit_code == 0
    assert runner.invoke(args=["create-admin", "chief"]).exit_code != 0


def test_invite_prints_a_token_alone_on_its_last_line_that_registers(app, runner):
    result = runner.invoke(args=["invite", "--role", "reviewer", "--expires", "2d",
                                 "--note", "Partner X"])
    assert result.exit_code == 0, result.output
    token = last_line(result.output)
    assert " " not in token
    invitation = get_session().query(Invitation).one()
    assert invitation.note == "Partner X"
    assert 47 * 3600 < (invitation.expires_at - utcnow()).total_seconds() <= 48 * 3600
    response = register_form(app.test_client(), token, "Lawyer", PASSPHRASE)
    assert response.status_code == 302
    assert get_session().query(User).one().role is Role.REVIEWER


def test_invite_with_an_unknown_role_fails(runner):
    result = runner.invoke(args=["invite", "--role", "wizard"])
    assert result.exit_code != 0
    assert get_session().query(Invitation).count() == 0


def test_invite_with_a_bad_lifetime_fails(runner):
    for expires in ("0d", "500d", "soon"):
        assert runner.invoke(args=["invite", "--role", "contributor",
                                   "--expires", expires]).exit_code != 0
    assert get_session().query(Invitation).count() == 0


def test_token_create_prints_a_working_token_on_its_last_line(app, runner):
    gen_user(Role.CONTRIBUTOR, pseudonym="Aliya")
    result = runner.invoke(args=["token", "create", "Aliya"])
    assert result.exit_code == 0, result.output
    token = last_line(result.output)
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["pseudonym"] == "Aliya"


def test_a_cli_token_works_for_staff_who_have_not_enrolled_yet(app, runner):
    gen_user(Role.ADMIN, pseudonym="Chief", with_totp=False)
    token = last_line(runner.invoke(args=["token", "create", "Chief"]).output)
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


def test_token_create_for_an_unknown_user_fails(runner):
    result = runner.invoke(args=["token", "create", "Nobody"])
    assert result.exit_code != 0
