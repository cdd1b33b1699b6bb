"""`custody verify` replays the ledger and names the row an attacker with database write
access changed (THREATS.md "Learned from attacking the first version").

Each tampering is what such an attacker would run: SQL against the tables, never through
the application. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from incidents.models import (
    BlobRecord,
    EvidenceItem,
    Incident,
    IncidentItem,
    IncidentSubmission,
    MediaDerivative,
    Role,
    Submission,
    SubmissionStatus,
)
from incidents.models.custody import CustodyEvent
from incidents.services import incidents, state_commitments
from incidents.services.media.process import process_item
from incidents.web.context import get_blobstore
from incidents.web.db import get_session
from tests.fixtures import media
from tests.helpers import gen_token, gen_user
from tests.submissions.helpers import gen_metadata, post_submission

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


@pytest.fixture(autouse=True)
def _no_media_jobs(app: Flask) -> None:
    app.extensions["media_queue"] = lambda _ids: None


@pytest.fixture
def reports(app: Flask, client: FlaskClient) -> list[str]:
    """Two witnesses' submissions, each with a photo: their public ids."""
    ids = []
    for n in range(2):
        token = gen_token(gen_user(Role.CONTRIBUTOR))
        response = post_submission(client, token, gen_metadata(),
                                   files=[(PHOTO + bytes([n]), f"photo{n}.jpg", "image/jpeg")])
        assert response.status_code == 201, response.get_data(as_text=True)
        ids.append(response.get_json()["id"])
    return ids


def _verify(runner: FlaskCliRunner) -> Result:
    return runner.invoke(args=["custody", "verify", "--no-progress"])


def _sql(app: Flask, statement: Any) -> None:
    with app.extensions["database"].new_session() as s:
        s.execute(statement)
        s.commit()


def _photo(app: Flask, submission_id: str) -> EvidenceItem:
    with app.extensions["database"].new_session() as s:
        return s.scalars(sa.select(EvidenceItem).join(Submission)
                         .where(Submission.public_id == submission_id,
                                EvidenceItem.declared_type == "image/jpeg")).one()


def _failed_naming(result: Result, *needles: str) -> str:
    assert result.exit_code == 1, result.output
    for needle in needles:
        assert needle in result.output, result.output
    return result.output


def test_an_untouched_instance_verifies_with_its_state(runner, reports) -> None:
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "rows against the ledger" in result.output


def test_a_deleted_item_row_blob_row_and_file_are_named(app, runner, reports) -> None:
    item = _photo(app, reports[0])
    _sql(app, sa.delete(EvidenceItem).where(EvidenceItem.id == item.id))
    _sql(app, sa.delete(BlobRecord).where(BlobRecord.id == item.blob_id))
    store = app.extensions["blobstore"]
    (store.backend.root / item.blob_id[:2] / item.blob_id).unlink()
    _failed_naming(_verify(runner),
                   f"first row that disagrees with the ledger: evidence item {item.public_id}",
                   "missing from the database",
                   f"its subject blob:{item.blob_id} no longer exists")


def test_two_witnesses_photos_swapped_between_items_are_named(app, runner, reports) -> None:
    first, second = _photo(app, reports[0]), _photo(app, reports[1])
    with app.extensions["database"].new_session() as s:
        spare = s.scalar(sa.select(Submission.sealed_metadata_blob_id)
                         .where(Submission.public_id == reports[0]))
    # blob_id is unique: move one aside first, as an attacker would.
    _sql(app, sa.update(EvidenceItem).where(EvidenceItem.id == first.id).values(blob_id=spare))
    _sql(app, sa.update(EvidenceItem).where(EvidenceItem.id == second.id)
         .values(blob_id=first.blob_id))
    _sql(app, sa.update(EvidenceItem).where(EvidenceItem.id == first.id)
         .values(blob_id=second.blob_id))
    output = _failed_naming(_verify(runner), f"evidence_items row {first.public_id}: holds "
                            f"blob {second.blob_id}", "re-bound")
    assert f"evidence_items row {second.public_id}: holds blob {first.blob_id}" in output


STATEMENT_EDITS = [
    ("occurred_at", datetime(2022, 1, 9, tzinfo=UTC)),  # 5 -> 9 January
    ("time_precision", "exact"),
    ("date_only", False),
    ("place_id", "astana"),  # Almaty -> Astana
    ("region", "astana"),
    ("place_withheld", True),
    ("categories", ["protest_suppression"]),
    ("tags", []),
    ("injured", 0),
    ("detained", 12),
    ("killed", 4),
    ("has_point", True),
    ("consent_legal", False),
    ("consent_research", False),
    ("consent_publication", True),
    ("consent_contact", False),
]


@pytest.mark.parametrize(("column", "value"), STATEMENT_EDITS,
                         ids=[c for c, _v in STATEMENT_EDITS])
def test_an_edited_statement_field_or_consent_flag_is_named(
        app, runner, reports, column: str, value: object) -> None:
    _sql(app, sa.update(Submission).where(Submission.public_id == reports[1])
         .values({column: value}))
    _failed_naming(_verify(runner),
                   f"first row that disagrees with the ledger: submissions row {reports[1]}",
                   "differs from the one committed in event")


def test_a_status_set_in_sql_is_named(app, runner, reports) -> None:
    _sql(app, sa.update(Submission).where(Submission.public_id == reports[0])
         .values(status=SubmissionStatus.ACCEPTED))
    _failed_naming(_verify(runner), f"submissions row {reports[0]}: status is accepted",
                   "says received")


def test_a_blob_marked_removed_without_its_event_is_named(app, runner, reports) -> None:
    item = _photo(app, reports[0])
    _sql(app, sa.update(BlobRecord).where(BlobRecord.id == item.blob_id)
         .values(status="removed"))
    _failed_naming(_verify(runner), f"blobs row {item.blob_id}: marked removed, but no "
                   "`removed` event")


def test_a_deleted_submission_row_is_named_by_its_event(app, runner, reports) -> None:
    with app.extensions["database"].new_session() as s:
        row = s.scalars(sa.select(Submission).where(Submission.public_id == reports[1])).one()
        s.execute(sa.delete(EvidenceItem).where(EvidenceItem.submission_id == row.id))
        s.execute(sa.delete(Submission).where(Submission.id == row.id))
        s.commit()
    _failed_naming(_verify(runner), f"its subject submission:{reports[1]} no longer exists")


def test_an_item_without_its_events_is_named(app, runner, reports) -> None:
    item = _photo(app, reports[0])
    _sql(app, sa.update(EvidenceItem).where(EvidenceItem.id == item.id)
         .values(public_id="forged-item-0001"))
    _failed_naming(_verify(runner), "evidence_items row forged-item-0001: has no `received`")


def test_the_baseline_commits_an_old_instance_once_and_is_logged(
        app, runner, reports, caplog) -> None:
    # An instance from before the state replay: no statement commitments yet.
    _sql(app, sa.update(Submission).values(statement_salt=None))
    assert "run `custody baseline`" in _failed_naming(_verify(runner))
    with caplog.at_level("WARNING", logger="incidents.services.custody_state"):
        first = runner.invoke(args=["custody", "baseline"])
    assert first.exit_code == 0, first.output
    # 2 submissions, each with a testimony and a photo item
    assert "6 baseline event(s) written." in first.output
    assert "custody baseline: 6 baseline event(s)" in caplog.text
    assert runner.invoke(args=["custody", "baseline"]).output.startswith("every submission")
    assert _verify(runner).exit_code == 0
    with app.extensions["database"].new_session() as s:
        actions = s.scalars(sa.select(CustodyEvent.subject)
                            .where(CustodyEvent.action == "baseline")).all()
    assert sorted(a.split(":")[0] for a in actions) == ["evidence"] * 4 + ["submission"] * 2


def test_a_statement_commitment_recomputes_from_the_documented_form(app, reports) -> None:
    with app.extensions["database"].new_session() as s:
        row = s.scalars(sa.select(Submission).where(Submission.public_id == reports[0])).one()
        (event,) = s.scalars(sa.select(CustodyEvent).where(
            CustodyEvent.subject == f"submission:{reports[0]}",
            CustodyEvent.action == "submitted")).all()
        statement = state_commitments.statement_of(row)
        assert statement["place"] == "almaty"
        assert statement["occurred_at"].startswith("2022-01-0")
        assert event.commitment == state_commitments.statement_commitment(statement,
                                                                      row.statement_salt)


def _incident_of(app: Flask, reports: list[str]) -> str:
    """An incident made by a reviewer through the application, holding the first report."""
    reviewer = gen_user(Role.REVIEWER)
    incident = incidents.create(get_session(), get_blobstore(), reviewer, incidents.parse_input(
        {"title": "Shooting at the akimat", "start_utc": "2022-01-05T06:00:00Z"}),
        submission_ids=[reports[0]])
    return incident.public_id


def test_a_submission_slipped_into_an_incident_in_sql_is_named(app, runner, reports) -> None:
    incident_id = _incident_of(app, reports)
    assert _verify(runner).exit_code == 0
    with app.extensions["database"].new_session() as s:
        incident = s.scalars(sa.select(Incident).where(Incident.public_id == incident_id)).one()
        other = s.scalars(sa.select(Submission).where(Submission.public_id == reports[1])).one()
        s.add(IncidentSubmission(incident_id=incident.id, submission_id=other.id))
        s.commit()
    _failed_naming(_verify(runner), f"incidents row {incident_id}: its submissions and items "
                   "differ from those committed in event")


def test_an_item_taken_out_of_an_incident_in_sql_is_named(app, runner, reports) -> None:
    incident_id = _incident_of(app, reports)
    photo = _photo(app, reports[0])
    _sql(app, sa.delete(IncidentItem).where(IncidentItem.item_id == photo.id))
    _failed_naming(_verify(runner), f"incidents row {incident_id}: its submissions and items "
                   "differ")


def test_membership_follows_links_merges_and_splits(app, runner, reports) -> None:
    reviewer = gen_user(Role.REVIEWER)
    session = get_session()
    base = incidents.parse_input({"title": "Akimat", "start_utc": "2022-01-05T06:00:00Z"})
    one = incidents.create(session, get_blobstore(), reviewer, base, submission_ids=[reports[0]])
    two = incidents.create(session, get_blobstore(), reviewer, base)
    incidents.link(session, reviewer, two.public_id, submission_ids=[reports[1]])
    incidents.merge(session, reviewer, one.public_id, [two.public_id])
    incidents.split(session, reviewer, one.public_id, [reports[1]], "Split off")
    assert _verify(runner).exit_code == 0, _verify(runner).output


def test_a_derivative_re_bound_in_sql_is_named(app, runner, reports) -> None:
    # A real photo, processed: its preview is a derivative blob made under an event.
    token = gen_token(gen_user(Role.CONTRIBUTOR))
    response = post_submission(app.test_client(), token, gen_metadata(),
                               files=[(media.photo(), "street.jpg", "image/jpeg")])
    assert response.status_code == 201
    item = _photo(app, response.get_json()["id"])
    process_item(get_session(), app.extensions["blobstore"], item.id)
    assert _verify(runner).exit_code == 0
    with app.extensions["database"].new_session() as s:
        derivative = s.scalars(sa.select(MediaDerivative)
                               .where(MediaDerivative.item_id == item.id)).first()
        assert derivative is not None
        other = _photo(app, reports[0]).blob_id  # another witness's photo, as the preview
        s.execute(sa.update(MediaDerivative).where(MediaDerivative.id == derivative.id)
                  .values(blob_id=other))
        s.commit()
        kind = derivative.kind.value
    _failed_naming(_verify(runner), f"media_derivatives row {item.public_id}/{kind}: holds "
                   f"blob {other}")


def test_a_derivative_row_deleted_in_sql_is_named_by_its_event(app, runner, reports) -> None:
    token = gen_token(gen_user(Role.CONTRIBUTOR))
    response = post_submission(app.test_client(), token, gen_metadata(),
                               files=[(media.photo(), "street.jpg", "image/jpeg")])
    item = _photo(app, response.get_json()["id"])
    process_item(get_session(), app.extensions["blobstore"], item.id)
    _sql(app, sa.delete(MediaDerivative).where(MediaDerivative.item_id == item.id))
    _failed_naming(_verify(runner), f"of evidence:{item.public_id} it made no longer exists")


def test_the_baseline_commits_the_membership_of_an_old_incident(app, runner, reports) -> None:
    # An incident from before membership was followed: rows, but no event commits them.
    reviewer = gen_user(Role.REVIEWER)
    with app.extensions["database"].new_session() as s:
        old = Incident(public_id="old-incident-0001", title="Before the upgrade",
                       created_by_id=reviewer.id)
        old.submissions = list(s.scalars(sa.select(Submission)
                                         .where(Submission.public_id == reports[0])))
        s.add(old)
        s.commit()
    _failed_naming(_verify(runner), "incidents row old-incident-0001: its submissions and "
                   "items are not committed", "run `custody baseline`")
    assert runner.invoke(args=["custody", "baseline"]).exit_code == 0
    assert _verify(runner).exit_code == 0


def test_a_members_digest_recomputes_from_the_documented_form(app, reports) -> None:
    incident_id = _incident_of(app, reports)
    photo = _photo(app, reports[0])
    testimony = [i for i in _items(app, reports[0]) if i != photo.public_id]
    with app.extensions["database"].new_session() as s:
        (event,) = s.scalars(sa.select(CustodyEvent).where(
            CustodyEvent.subject == f"incident:{incident_id}",
            CustodyEvent.action == "incident_created")).all()
    # docs/formats.md: SHA-256(tag ‖ canonical JSON of the sorted ids), by hand.
    body = json.dumps({"items": sorted([photo.public_id, *testimony]),
                       "submissions": [reports[0]]}, separators=(",", ":"), sort_keys=True)
    expected = hashlib.sha256(b"incidents/incident-members/v1" + body.encode()).hexdigest()
    assert json.loads(event.details_json)["members"] == expected


def _items(app: Flask, submission_id: str) -> list[str]:
    with app.extensions["database"].new_session() as s:
        return list(s.scalars(sa.select(EvidenceItem.public_id).join(Submission)
                              .where(Submission.public_id == submission_id)))
