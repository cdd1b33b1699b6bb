from __future__ import annotations

import os

import sqlalchemy as sa

from incidents.models import Role
from incidents.services import checkpoints
from tests.custody.conftest import add_events, ingest_bytes
from tests.helpers import gen_token, gen_user


def test_custody_verify_exits_0_on_an_intact_ledger(app, runner):
    session = app.extensions["database"].session()
    add_events(session, 3)
    result = runner.invoke(args=["custody", "verify", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "OK: 3 events" in result.output


def test_custody_verify_names_the_first_edited_event_and_exits_1(app, runner):
    session = app.extensions["database"].session()
    add_events(session, 5)
    session.execute(sa.text("UPDATE custody_events SET subject = 'x' WHERE seq = 2"))
    session.commit()
    result = runner.invoke(args=["custody", "verify", "--no-progress"])
    assert result.exit_code == 1
    assert "first bad event: 2" in result.output


def test_custody_verify_blobs_names_a_tampered_blob(app, runner):
    session = app.extensions["database"].session()
    store = app.extensions["blobstore"]
    ingest_bytes(session, store, b"photo bytes" * 100)
    bad = ingest_bytes(session, store, b"video bytes" * 100).record.id
    path = store.backend.root / bad[:2] / bad
    os.chmod(path, 0o600)
    path.write_bytes(path.read_bytes()[:-1])  # truncated
    result = runner.invoke(args=["custody", "verify", "--blobs", "--no-progress"])
    assert result.exit_code == 1
    assert f"first bad blob: {bad}" in result.output


def test_custody_checkpoint_prints_the_signed_note(app, runner, settings):
    add_events(app.extensions["database"].session(), 2)
    result = runner.invoke(args=["custody", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{settings.custody_origin}\n2\n")
    assert "\n\n\u2014 " in result.output


def test_keys_rotate_reseals_and_keys_status_shows_the_new_key(app, runner):
    session = app.extensions["database"].session()
    ingest_bytes(session, app.extensions["blobstore"], b"evidence")
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "data keys re-sealed: 1" in result.output
    new = result.output.split("active vault key: ")[1].split()[0]
    status = runner.invoke(args=["keys", "status"])
    assert f"vault key {new} (active): 1 blob(s)" in status.output
    assert runner.invoke(args=["custody", "verify", "--blobs", "--no-progress"]).exit_code == 0


def test_the_public_key_and_checkpoint_are_public(app, client):
    add_events(app.extensions["database"].session(), 2)
    assert client.get("/custody/checkpoint").status_code == 404
    checkpoints.checkpoint(app.extensions["database"].session(), app.extensions["keys"],
                       app.extensions["settings"])
    key = client.get("/custody/public-key")
    assert key.status_code == 200
    assert key.get_data(as_text=True).startswith("-----BEGIN PUBLIC KEY-----")
    note = client.get("/custody/checkpoint")
    assert note.mimetype == "text/plain"
    assert note.get_data(as_text=True).split("\n")[1] == "2"


def test_inclusion_proofs_are_for_signed_in_users(app, client):
    session = app.extensions["database"].session()
    add_events(session, 3)
    checkpoints.checkpoint(session, app.extensions["keys"], app.extensions["settings"])
    token = gen_token(gen_user(Role.CONTRIBUTOR))
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get("/api/v1/custody/proof/1", headers=headers)
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["leaf_index"] == 1
    assert body["tree_size"] == 3
    assert len(body["hashes"]) == 2
    assert client.get("/api/v1/custody/proof/7", headers=headers).status_code == 404
    assert client.get("/api/v1/custody/checkpoint", headers=headers).get_json()["size"] == 3


def test_inclusion_proofs_need_a_signed_in_user(app, client):
    assert client.get("/api/v1/custody/proof/0").status_code == 401
    assert client.get("/api/v1/custody/checkpoint").status_code == 401
