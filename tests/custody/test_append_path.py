"""The Core append path: pending events, one INSERT per unit of work, savepoints, append_many."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from incidents.core.database import begin_write
from incidents.core.errors import InvalidInput
from incidents.models import CustodyEvent, LedgerHead
from incidents.services import custody, ledger_verify
from tests.custody.conftest import add_events


def _count(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(CustodyEvent))


def test_events_appended_in_a_transaction_are_visible_to_queries_in_it(session):
    begin_write(session)
    custody.append(session, actor=None, action="annotated", subject="submission:7")
    custody.append(session, actor=None, action="annotated", subject="submission:7")
    assert [e.seq for e in custody.events_for(session, "submission:7")] == [0, 1]
    assert _count(session) == 2
    assert custody.head(session).size == 2
    session.commit()


def test_a_rolled_back_unit_of_work_leaves_no_event_and_the_chain_continues(
        session, keys, settings):
    add_events(session, 2)
    begin_write(session)
    custody.append(session, actor=None, action="annotated", subject="submission:1")
    session.rollback()
    assert _count(session) == 2
    (event,) = add_events(session, 1)
    assert event.seq == 2
    assert ledger_verify.verify(session, keys, settings).ok


def test_append_many_writes_its_events_in_order_as_one_chain(session, keys, settings):
    add_events(session, 1)
    begin_write(session)
    events = custody.append_many(session, [
        custody.NewEvent(actor="a" * 32, action="annotated", subject=f"submission:{n}",
                         details={"n": n}) for n in range(50)])
    session.commit()
    assert [e.seq for e in events] == list(range(1, 51))
    stored = session.scalars(sa.select(CustodyEvent).where(CustodyEvent.seq >= 1)
                             .order_by(CustodyEvent.seq)).all()
    assert [(e.seq, e.hash, e.prev_hash) for e in stored] == [
        (e.seq, e.hash, e.prev_hash) for e in events]
    assert session.get(LedgerHead, 1).size == 51
    assert ledger_verify.verify(session, keys, settings).ok


def test_append_many_with_one_invalid_event_adds_none(session):
    add_events(session, 1)
    begin_write(session)
    with pytest.raises(InvalidInput):
        custody.append_many(session, [
            custody.NewEvent(actor=None, action="annotated", subject="submission:1"),
            custody.NewEvent(actor=None, action="Bad Action", subject="submission:1")])
    session.commit()
    assert _count(session) == 1


def test_a_rolled_back_savepoint_drops_only_its_own_events(session, keys, settings):
    begin_write(session)
    custody.append(session, actor=None, action="annotated", subject="outer:1")
    savepoint = session.begin_nested()
    custody.append(session, actor=None, action="annotated", subject="inner:1")
    savepoint.rollback()
    custody.append(session, actor=None, action="annotated", subject="outer:2")
    session.commit()
    subjects = session.scalars(sa.select(CustodyEvent.subject).order_by(CustodyEvent.seq))
    assert list(subjects) == ["outer:1", "outer:2"]
    assert ledger_verify.verify(session, keys, settings).ok


def test_a_released_savepoint_keeps_its_events_in_the_chain(session, keys, settings):
    begin_write(session)
    custody.append(session, actor=None, action="annotated", subject="outer:1")
    with session.begin_nested():
        custody.append(session, actor=None, action="annotated", subject="inner:1")
    custody.append(session, actor=None, action="annotated", subject="outer:2")
    session.commit()
    subjects = session.scalars(sa.select(CustodyEvent.subject).order_by(CustodyEvent.seq))
    assert list(subjects) == ["outer:1", "inner:1", "outer:2"]
    assert ledger_verify.verify(session, keys, settings).ok
