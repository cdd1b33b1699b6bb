"""`flask --app wsgi demo`: synthetic, labelled, through the real services, once only."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from incidents.models import CustodyEvent, Incident, Submission
from incidents.services.research.public import LocationPrecision
from incidents.web.db import get_session


def test_the_demo_fills_a_fresh_instance_once(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo", "--count", "40"])
    assert result.exit_code == 0, result.output
    session = get_session()
    assert session.scalar(select(func.count()).select_from(Submission)) == 40
    incidents = list(session.scalars(select(Incident)))
    published = [i for i in incidents if i.published]
    assert published
    assert all(i.title.startswith("[DEMO]") for i in incidents)
    assert {c for i in published for c in i.categories} == {
        "detainee_treatment", "excessive_force", "protest_suppression"}
    days = {i.start_utc.date() for i in incidents}
    assert min(days).isoformat() >= "2022-01-01"
    assert max(days).isoformat() <= "2022-01-20"
    assert len({i.place_id for i in incidents}) > 3
    assert {i.location_precision for i in published} <= set(LocationPrecision)
    stored = session.scalar(select(func.count()).select_from(CustodyEvent)
                            .where(CustodyEvent.action == "published"))
    assert stored == len(published)
    again = runner.invoke(args=["demo", "--count", "5"])
    assert again.exit_code != 0
    assert "--force" in again.output


def test_the_demo_refuses_an_instance_with_real_data_unless_forced(
        runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["demo", "--count", "3"]).exit_code == 0
    forced = runner.invoke(args=["demo", "--count", "3", "--force"])
    assert forced.exit_code == 0, forced.output
    assert get_session().scalar(select(func.count()).select_from(Submission)) == 6
