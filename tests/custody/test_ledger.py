from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from incidents.core.errors import CheckpointRefused, Conflict, InvalidInput
from incidents.models import Checkpoint, CustodyEvent, LedgerHead
from incidents.services import checkpoints, custody, ledger_verify
from incidents.web.db import get_db
from storage.crypto.merkle import leaf_hash, root, verify_consistency, verify_inclusion
from storage.crypto.note import sign_checkpoint
from tests.custody.conftest import add_events


def _sql(session, statement, **params):
    session.execute(sa.text(statement), params)
    session.commit()
    session.expire_all()


def _kinds(report):
    return {p.kind for p in report.problems}


def test_appends_form_one_gapless_chain_that_verifies(session, keys, settings):
    events = add_events(session, 5)
    assert [e.seq for e in events] == [0, 1, 2, 3, 4]
    assert events[0].prev_hash == bytes(32)
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    report = ledger_verify.verify(session, keys, settings)
    assert report.ok, report.problems
    assert report.events == 5


def test_an_event_hash_is_sha256_of_the_documented_encoding_and_previous_hash(session):
    first, second = add_events(session, 2)
    actor = hashlib.sha256(b"incidents/actor-commitment/v1" + second.actor_salt
                           + b"a" * 32).hexdigest()
    text = "\n".join(["incidents-custody-event/v2", "1", second.time, actor, "annotated",
                      "submission:1", "", first.hash.hex(), '{"n":1,"note":"тест"}'])
    assert second.hash == hashlib.sha256(text.encode() + first.hash).digest()
    assert first.subject_prev == bytes(32)  # the subject's first event
    assert second.time.endswith("Z")
    assert len(second.time) == 27


def test_a_v1_event_keeps_the_v1_encoding():
    canonical = custody.canonical_event(4, "2026-01-05T10:00:00.000000Z", "a" * 32,
                                        "annotated", "submission:1", None, "{}")
    assert canonical == "\n".join(["incidents-custody-event/v1", "4",
                                   "2026-01-05T10:00:00.000000Z", "a" * 32, "annotated",
                                   "submission:1", "", "{}"]).encode()


def test_details_with_floats_are_refused(session):
    with pytest.raises(InvalidInput):
        custody.append(session, actor=None, action="annotated", subject="x", details={"f": 1.5})


def test_details_edited_in_sql_are_named_by_verify(session, keys, settings):
    add_events(session, 6)
    _sql(session, "UPDATE custody_events SET details = :d WHERE seq = 3", d='{"n":99}')
    report = ledger_verify.verify(session, keys, settings)
    assert not report.ok
    assert report.first_bad_event == 3
    assert "altered" in str(report.problems[0])


def test_a_deleted_row_is_named_by_verify(session, keys, settings):
    add_events(session, 6)
    _sql(session, "DELETE FROM custody_events WHERE seq = 2")
    report = ledger_verify.verify(session, keys, settings)
    assert report.first_bad_event == 2
    assert "missing" in str(report.problems[0])


def test_a_deleted_last_row_is_caught_by_the_ledger_head(session, keys, settings):
    add_events(session, 4)
    _sql(session, "DELETE FROM custody_events WHERE seq = 3")
    report = ledger_verify.verify(session, keys, settings)
    assert "head" in _kinds(report)


def test_a_deleted_ledger_head_is_never_restarted_over_existing_events(session):
    add_events(session, 3)
    _sql(session, "DELETE FROM custody_head")
    with pytest.raises(Conflict, match="head is missing"):
        add_events(session, 1)
    session.rollback()
    # nothing was added, and no fresh head at size 0 was left behind
    assert session.scalar(sa.select(sa.func.count()).select_from(CustodyEvent)) == 3
    assert session.scalar(sa.select(sa.func.count()).select_from(LedgerHead)) == 0


def test_reordered_rows_are_named_by_verify(session, keys, settings):
    add_events(session, 6)
    _sql(session, "UPDATE custody_events SET seq = -1 WHERE seq = 1")
    _sql(session, "UPDATE custody_events SET seq = 1 WHERE seq = 4")
    _sql(session, "UPDATE custody_events SET seq = 4 WHERE seq = -1")
    report = ledger_verify.verify(session, keys, settings)
    assert report.first_bad_event == 1


def test_a_rewritten_and_rehashed_history_fails_against_its_checkpoint(session, keys, settings):
    events = add_events(session, 5)
    checkpoints.checkpoint(session, keys, settings)
    # The attacker edits event 2 and recomputes every hash after it, and the head.
    _sql(session, "UPDATE custody_events SET details = :d WHERE seq = 2", d='{"n":7}')
    prev = events[1].hash
    for row in session.scalars(sa.select(CustodyEvent).where(CustodyEvent.seq >= 2)
                               .order_by(CustodyEvent.seq)):
        row.subject_prev = prev  # one subject here: its chain is the whole chain
        canonical = custody.canonical_event(row.seq, row.time, row.actor, row.action,
                                            row.subject, row.commitment, row.details_json,
                                            subject_prev=row.subject_prev,
                                            actor_salt=row.actor_salt)
        row.prev_hash, row.hash = prev, custody.event_hash(canonical, prev)
        prev = row.hash
    session.get(LedgerHead, 1).hash = prev
    session.commit()
    report = ledger_verify.verify(session, keys, settings)
    assert report.first_bad_event is None
    assert "checkpoint" in _kinds(report)
    assert "rewritten" in " ".join(map(str, report.problems))


def test_a_checkpoint_signs_the_rfc6962_root_in_a_c2sp_note(session, keys, settings):
    events = add_events(session, 3)
    cp = checkpoints.checkpoint(session, keys, settings)
    lines = cp.note.split("\n")
    assert lines[0] == settings.custody_origin
    assert lines[1] == "3"
    assert lines[3].startswith("time ")
    assert lines[4] == ""
    assert lines[5].startswith("\u2014 " + settings.custody_origin + " ")
    assert cp.root == root([e.hash for e in events])
    assert ledger_verify.verify(session, keys, settings).ok


def test_a_checkpoint_signed_with_another_key_is_reported(session, keys, settings):
    add_events(session, 3)
    cp = checkpoints.checkpoint(session, keys, settings)
    forged = sign_checkpoint(settings.custody_origin, cp.size, cp.root, datetime.now(UTC),
                             Ed25519PrivateKey.generate(), settings.custody_origin)
    cp.note = forged
    session.commit()
    report = ledger_verify.verify(session, keys, settings)
    assert [p.kind for p in report.problems] == ["checkpoint"]
    assert "signature" in report.problems[0].message


def test_a_checkpoint_whose_tree_size_went_backwards_is_reported(session, keys, settings):
    add_events(session, 4)
    checkpoints.checkpoint(session, keys, settings)
    hashes = [e.hash for e in session.scalars(sa.select(CustodyEvent).order_by(CustodyEvent.seq))]
    small_root = root(hashes[:2])
    later = datetime.now(UTC) + timedelta(minutes=5)
    note = sign_checkpoint(settings.custody_origin, 2, small_root, later, keys.signing_key(),
                           settings.custody_origin)
    session.add(Checkpoint(size=2, root=small_root, note=note, signed_at=later))
    session.commit()
    report = ledger_verify.verify(session, keys, settings)
    assert any("went backwards" in p.message for p in report.problems)


def test_the_signer_refuses_a_smaller_tree_after_an_old_backup_is_restored(session, keys, settings):
    add_events(session, 3)
    checkpoints.checkpoint(session, keys, settings)
    add_events(session, 3)
    checkpoints.checkpoint(session, keys, settings)
    # What restoring the backup taken at size 3 does to the database: the state file
    # outside it still records size 6.
    _sql(session, "DELETE FROM custody_events WHERE seq >= 3")
    _sql(session, "DELETE FROM custody_checkpoints WHERE size = 6")
    head = session.get(LedgerHead, 1)
    head.size = 3
    head.hash = session.get(CustodyEvent, 2).hash
    session.commit()
    with pytest.raises(CheckpointRefused):
        checkpoints.checkpoint(session, keys, settings)
    add_events(session, 1)  # the restored server carries on
    with pytest.raises(CheckpointRefused):
        checkpoints.checkpoint(session, keys, settings)
    report = ledger_verify.verify(session, keys, settings)
    assert "state" in _kinds(report)
    assert "backup" in " ".join(map(str, report.problems))


def test_the_signer_refuses_a_same_size_tree_with_a_different_history(session, keys, settings):
    add_events(session, 3)
    checkpoints.checkpoint(session, keys, settings)
    _sql(session, "DELETE FROM custody_checkpoints")
    _sql(session, "UPDATE custody_events SET hash = :h WHERE seq = 1", h=b"\x01" * 32)
    with pytest.raises(CheckpointRefused):
        checkpoints.checkpoint(session, keys, settings)


def test_inclusion_and_consistency_proofs_verify(session, keys, settings):
    events = add_events(session, 7)
    old = checkpoints.checkpoint(session, keys, settings)
    events += add_events(session, 6)
    new = checkpoints.checkpoint(session, keys, settings)
    for seq in (0, 6, 12):
        proof = checkpoints.inclusion_proof(session, seq)
        assert proof.tree_size == 13
        verify_inclusion(leaf_hash(events[seq].hash), seq, 13, proof.hashes, new.root)
    verify_consistency(7, 13, old.root, new.root, checkpoints.consistency_proof(session, 7, 13))


def test_concurrent_checkpoints_never_sign_two_roots_for_one_size(app, session, keys, settings):
    add_events(session, 10)
    results, errors = [], []

    def sign() -> None:
        with app.app_context(), get_db().new_session() as s:
            try:
                results.append(checkpoints.checkpoint(s, keys, settings).size)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    threads = [threading.Thread(target=sign) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = session.scalars(sa.select(Checkpoint)).all()
    assert [r.size for r in rows] == [10]
    assert ledger_verify.verify(session, keys, settings).ok


def test_a_checkpoint_is_due_after_n_events(session, keys, settings):
    settings = replace(settings, checkpoint_every_events=5)
    add_events(session, 4)
    assert checkpoints.maybe_checkpoint(session, keys, settings) is None
    add_events(session, 1)
    assert checkpoints.maybe_checkpoint(session, keys, settings).size == 5


def test_a_checkpoint_is_due_after_m_minutes(session, keys, settings):
    add_events(session, 1)
    assert checkpoints.maybe_checkpoint(session, keys, settings) is None
    later = datetime.now(UTC) + timedelta(minutes=settings.checkpoint_every_minutes + 1)
    assert checkpoints.maybe_checkpoint(session, keys, settings, now=later).size == 1


class _PublicHalfOnly:
    """A key provider whose private key is sealed away (issue 12): only the public half."""

    def __init__(self, keys) -> None:
        self._pem = keys.signing_public_key_pem()

    def signing_public_key_pem(self) -> bytes:
        return self._pem

    def signing_key(self):  # noqa: ANN201 - must never be called by verification
        raise AssertionError("verification asked for the private signing key")


def test_verify_needs_only_the_public_signing_key(session, keys, settings):
    add_events(session, 4)
    checkpoints.checkpoint(session, keys, settings)
    report = ledger_verify.verify(session, _PublicHalfOnly(keys), settings)
    assert report.ok, report.problems
    assert report.checkpoints == 1
