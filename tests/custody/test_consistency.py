"""A history that can be checked for forks: consistency proofs between signed checkpoints,
earlier checkpoints by size, and a witness receipt checked against the server's latest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from incidents.models import Role
from incidents.models.custody import Checkpoint, CustodyEvent, LedgerHead
from incidents.services import checkpoints, custody
from incidents.services.bundles.verify import consistent
from storage.crypto.merkle import ConsistencyProofError, verify_consistency
from storage.crypto.note import parse_checkpoint
from tests.custody.conftest import add_events
from tests.helpers import fresh_g, gen_token, gen_user
from tests.submissions.helpers import api_get, gen_metadata, post_submission


def _signed(client: FlaskClient, size: int) -> tuple[int, bytes]:
    fresh_g()
    response = client.get(f"/custody/checkpoint?size={size}")
    assert response.status_code == 200, response.data
    parsed = parse_checkpoint(response.get_data(as_text=True))
    return parsed.size, parsed.root


@pytest.fixture
def two_checkpoints(session, keys, settings) -> tuple[int, int]:
    add_events(session, 3)
    checkpoints.checkpoint(session, keys, settings)
    add_events(session, 4)
    checkpoints.checkpoint(session, keys, settings)
    return 3, 7


def test_a_consistency_proof_between_two_checkpoints_verifies(client, two_checkpoints) -> None:
    first, second = two_checkpoints
    response = client.get(f"/custody/proof/consistency?first={first}&second={second}")
    assert response.status_code == 200  # anonymous
    body = response.get_json()
    assert (body["first"], body["second"]) == (first, second)
    proof = [bytes.fromhex(h) for h in body["proof"]]
    (_s1, old_root), (_s2, new_root) = _signed(client, first), _signed(client, second)
    verify_consistency(first, second, old_root, new_root, proof)  # raises if not
    assert consistent(first, second, old_root, new_root, proof)  # verify.py's own code


def test_a_consistency_proof_fails_against_a_forked_history(
        client, two_checkpoints, session, keys, settings) -> None:
    first, second = two_checkpoints
    _s, old_root = _signed(client, first)
    # The holder of the signing key rewrites event 1, rehashes the rest, drops the old
    # checkpoints and the state file, and signs the rewritten tree.
    session.execute(sa.text("UPDATE custody_events SET details = :d WHERE seq = 1"),
                    {"d": '{"n":9}'})
    prev = session.get(CustodyEvent, 0).hash
    heads: dict[str, bytes] = {}
    for row in session.scalars(sa.select(CustodyEvent).order_by(CustodyEvent.seq)):
        if row.seq >= 1:
            row.subject_prev = heads.get(row.subject, bytes(32))
            row.prev_hash = prev
            row.hash = custody.event_hash(custody.canonical_event(
                row.seq, row.time, row.actor, row.action, row.subject, row.commitment,
                row.details_json, subject_prev=row.subject_prev, actor_salt=row.actor_salt),
                prev)
        heads[row.subject] = prev = row.hash
    session.get(LedgerHead, 1).hash = prev
    session.execute(sa.delete(Checkpoint))
    session.commit()
    settings.checkpoint_state_file.unlink()
    checkpoints.checkpoint(session, keys, settings)
    fresh_g()
    body = client.get(f"/custody/proof/consistency?first={first}&second={second}").get_json()
    _s, forged_root = _signed(client, second)
    proof = [bytes.fromhex(h) for h in body["proof"]]
    with pytest.raises(ConsistencyProofError):
        verify_consistency(first, second, old_root, forged_root, proof)
    assert not consistent(first, second, old_root, forged_root, proof)


@pytest.mark.parametrize(("query", "field"), [
    ("first=abc&second=3", "first"), ("first=1", "second"), ("first=-1&second=3", "first"),
    ("first=5&second=3", "first"), ("first=1&second=99999999999999999999", "second"),
])
def test_a_bad_tree_size_is_a_400_naming_the_field(client, two_checkpoints, query: str,
                                                   field: str) -> None:
    response = client.get(f"/custody/proof/consistency?{query}")
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_sizes_beyond_the_latest_checkpoint_or_never_signed_are_404(
        client, two_checkpoints) -> None:
    assert client.get("/custody/proof/consistency?first=1&second=8").status_code == 404
    fresh_g()
    assert client.get("/custody/checkpoint?size=5").status_code == 404
    fresh_g()
    assert client.get("/custody/checkpoint?size=x").status_code == 400


def _receipt(client: FlaskClient, tmp_path: Path) -> tuple[dict, Path]:
    token = gen_token(gen_user(Role.CONTRIBUTOR))
    response = post_submission(client, token, gen_metadata())
    assert response.status_code == 201
    receipt = api_get(client, f"/api/v1/submissions/{response.get_json()['id']}/receipt",
                      token).get_json()
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    return receipt, path


def test_a_receipt_carries_the_verifier_key(client, tmp_path, keys, settings) -> None:
    receipt, _path = _receipt(client, tmp_path)
    assert receipt["checkpoint"]["verifier_key"].startswith(settings.custody_origin + "+")


def test_the_cli_finds_a_receipt_consistent_with_the_latest_checkpoint(
        app, client, runner, session, keys, settings, tmp_path) -> None:
    receipt, path = _receipt(client, tmp_path)
    add_events(session, 5)
    checkpoints.checkpoint(session, keys, settings)
    result = runner.invoke(args=["custody", "check-receipt", str(path)])
    assert result.exit_code == 0, result.output
    assert f"(size {receipt['checkpoint']['size']}) is consistent" in result.output


def test_the_cli_refuses_a_receipt_after_the_history_was_rewritten(
        app, client, runner, session, keys, settings, tmp_path) -> None:
    _receipt_json, path = _receipt(client, tmp_path)
    # Rewrite the first event and everything after it, as above, then re-sign.
    rows = session.scalars(sa.select(CustodyEvent).order_by(CustodyEvent.seq)).all()
    rows[0].details_json = '{"forged":true}'
    prev, heads = bytes(32), {}
    for row in rows:
        row.subject_prev = heads.get(row.subject, bytes(32))
        row.prev_hash = prev
        row.hash = custody.event_hash(custody.canonical_event(
            row.seq, row.time, row.actor, row.action, row.subject, row.commitment,
            row.details_json, subject_prev=row.subject_prev, actor_salt=row.actor_salt), prev)
        heads[row.subject] = prev = row.hash
    session.get(LedgerHead, 1).hash = prev
    session.execute(sa.delete(Checkpoint))
    session.commit()
    settings.checkpoint_state_file.unlink()
    add_events(session, 2)
    checkpoints.checkpoint(session, keys, settings)
    result = runner.invoke(args=["custody", "check-receipt", str(path)])
    assert result.exit_code == 1
    assert "NOT consistent" in result.output
