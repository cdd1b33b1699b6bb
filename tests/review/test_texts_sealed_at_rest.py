"""Attack: read what names a witness or what reviewers wrote from a seized database.

Declared file names, reviewer notes, assessment reasons, questions to witnesses, case and
incident descriptions are written as a user writes them (pages and API), then the database
(the SQLite file and its WAL, or every PostgreSQL row) and every file of the instance folder
are searched for the text: it must be nowhere. The pages still show it to whoever may read
it while the vault is unsealed, and answer (no 500) while it is sealed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.testing import FlaskClient

from incidents.core.settings import PROJECT_ROOT
from incidents.models import (
    BlobRecord,
    CustodyEvent,
    EvidenceItem,
    EvidenceKind,
    ReviewerNote,
    Role,
    SealingBacklog,
    Upload,
)
from incidents.services.evidence import keys as key_rotation
from incidents.services.uploads import PendingName
from incidents.web.db import get_db, get_session
from storage.blobstore import BlobStore
from tests.conftest import csrf_from
from tests.helpers import database_bytes, fresh_g, gen_user, login
from tests.keys import ring_of
from tests.review.fixtures import PHOTO, Actor, call
from tests.submissions.helpers import gen_metadata, post_submission
from tests.uploads.conftest import TUS, create, patch

FILE_NAME = "IMG_from_Aigerim_Nurlanova.jpg"
UPLOAD_NAME = "VID_Айгерим_брат.mp4"
NOTE = "Свидетельница Айгерим живёт за рынком"
REASON = "Confirmed by Dana, a cousin of Aigerim"
QUESTION = "Айгерим, где именно вы стояли?"
CASE_DESCRIPTION = "For the family of Nurlan Bekov, detained 6 January"
INCIDENT_DESCRIPTION = "Бекова избили на вокзале Алматы-2"
EVERY_TEXT = (FILE_NAME, UPLOAD_NAME, NOTE, REASON, QUESTION, CASE_DESCRIPTION,
              INCIDENT_DESCRIPTION)


def _everything_stored(app: Flask, instance_path: Path) -> bytes:
    files = b"".join(p.read_bytes() for p in instance_path.rglob("*") if p.is_file())
    return database_bytes(app) + files


def _assert_nowhere(app: Flask, instance_path: Path, *texts: str) -> None:
    stored = _everything_stored(app, instance_path)
    assert len(stored) > 10_000
    for text in texts:
        assert text.encode("utf-8") not in stored, f"{text!r} is stored in the clear"


def _form(client: FlaskClient, page: str, action: str, **fields: str) -> None:
    fresh_g()
    token = csrf_from(client.get(page).get_data(as_text=True))
    fresh_g()
    response = client.post(action, data={"csrf_token": token, **fields})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def _web_client(app: Flask, user) -> FlaskClient:  # noqa: ANN001
    web = app.test_client()
    fresh_g()
    login(web, user)
    return web


@pytest.fixture
def staff(app: Flask, reviewer: Actor) -> FlaskClient:
    """The reviewer signed in on the web once (a second factor code is good only once)."""
    return _web_client(app, reviewer.user)


@pytest.fixture
def written(app: Flask, client: FlaskClient, witness: Actor, reviewer: Actor,
            staff: FlaskClient) -> dict[str, str]:
    """Every sealed text written as its author would: the witness's files by the API (a
    multipart name and a tus upload's name), the reviewer's notes, grade, question and case
    by the web forms, the incident by the API."""
    response = post_submission(client, witness.token, gen_metadata(),
                               [(PHOTO.read_bytes(), FILE_NAME, "image/jpeg")])
    assert response.status_code == 201, response.get_data(as_text=True)
    submission = response.get_json()["id"]
    auth = {"Authorization": f"Bearer {witness.token}", **TUS}
    fresh_g()
    path = create(client, auth, 5, filename=UPLOAD_NAME, filetype="video/mp4")
    assert patch(client, auth, path, 0, b"12345").status_code == 204
    fresh_g()
    added = post_submission(client, witness.token, gen_metadata(
        testimony="", uploads=[path.rsplit("/", 1)[-1]]))
    assert added.status_code == 201, added.get_data(as_text=True)
    photo = get_session().scalars(sa.select(EvidenceItem).where(
        EvidenceItem.kind == EvidenceKind.FILE)).first()
    assert photo is not None
    web = staff
    page = f"/review/submissions/{submission}"
    _form(web, page, f"{page}/notes", body=NOTE)
    _form(web, page, f"/review/items/{photo.public_id}/assessments", reliability="B",
          credibility="2", reason=REASON)
    _form(web, page, f"{page}/requests", question=QUESTION)
    fresh_g()
    token = csrf_from(web.get("/cases/").get_data(as_text=True))
    fresh_g()
    made = web.post("/cases/", data={"csrf_token": token, "name": "Bekov",
                                     "kind": "prosecution",
                                     "description": CASE_DESCRIPTION})
    assert made.status_code == 302, made.get_data(as_text=True)[:500]
    case = made.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    incident = call(client, "POST", "/api/v1/review/incidents", reviewer.token, {
        "title": "Station", "description": INCIDENT_DESCRIPTION, "submissions": [submission]})
    assert incident.status_code == 201, incident.get_data(as_text=True)
    return {"submission": submission, "second": added.get_json()["id"],
            "item": photo.public_id, "case": case, "incident": incident.get_json()["id"]}


def test_no_sealed_text_is_stored_in_the_clear(app, written, instance_path) -> None:
    _assert_nowhere(app, instance_path, *EVERY_TEXT)


def test_the_witness_sees_their_file_names_and_the_question(app, written, witness) -> None:
    web = _web_client(app, witness.user)
    fresh_g()
    page = web.get(f"/submissions/{written['submission']}").get_data(as_text=True)
    assert FILE_NAME in page
    assert QUESTION in page
    assert NOTE not in page
    assert REASON not in page  # never shown to a witness
    fresh_g()
    assert UPLOAD_NAME in web.get(f"/submissions/{written['second']}").get_data(as_text=True)
    body = call(web, "GET", f"/api/v1/submissions/{written['submission']}",
                witness.token).get_json()
    assert FILE_NAME in [i["name"] for i in body["items"]]
    receipt = call(web, "GET", f"/api/v1/submissions/{written['submission']}/receipt",
                   witness.token).get_json()
    assert FILE_NAME in [i["name"] for i in receipt["items"]]


def test_reviewers_see_notes_reasons_questions_and_descriptions(app, written, reviewer,
                                                                 staff) -> None:
    web = staff
    fresh_g()
    page = web.get(f"/review/submissions/{written['submission']}").get_data(as_text=True)
    assert NOTE in page
    assert REASON in page
    assert QUESTION in page
    fresh_g()
    assert CASE_DESCRIPTION in web.get(f"/cases/{written['case']}").get_data(as_text=True)
    fresh_g()
    shown = web.get(f"/incidents/{written['incident']}").get_data(as_text=True)
    assert INCIDENT_DESCRIPTION in shown
    fresh_g()
    edit = web.get(f"/incidents/{written['incident']}/edit").get_data(as_text=True)
    assert INCIDENT_DESCRIPTION in edit
    detail = call(web, "GET", f"/api/v1/review/submissions/{written['submission']}",
                  reviewer.token).get_json()
    assert [a["reason"] for a in detail["assessments"]] == [REASON]
    case = call(web, "GET", f"/api/v1/cases/{written['case']}", reviewer.token).get_json()
    assert case["description"] == CASE_DESCRIPTION
    incident = call(web, "GET", f"/api/v1/review/incidents/{written['incident']}",
                    reviewer.token).get_json()
    assert incident["description"] == INCIDENT_DESCRIPTION


def test_each_read_is_a_viewed_event_naming_the_reader(app, written, reviewer) -> None:
    before = get_session().scalar(sa.select(sa.func.count()).select_from(CustodyEvent).where(
        CustodyEvent.action == "viewed", CustodyEvent.actor == reviewer.user.public_id))
    call(app.test_client(), "GET", f"/api/v1/cases/{written['case']}", reviewer.token)
    after = get_session().scalar(sa.select(sa.func.count()).select_from(CustodyEvent).where(
        CustodyEvent.action == "viewed", CustodyEvent.actor == reviewer.user.public_id))
    assert after == before + 1


def test_a_case_member_alone_reads_its_description(app, written) -> None:
    outsider = gen_user(Role.REVIEWER)
    web = _web_client(app, outsider)
    fresh_g()
    assert CASE_DESCRIPTION not in web.get(f"/cases/{written['case']}").get_data(as_text=True)


def test_pages_answer_while_the_vault_is_sealed(app, written, witness, reviewer,
                                                staff) -> None:
    """No 500 anywhere: the witness's page, cases and incidents say "sealed" where the text
    would be, the API gives null; the review page (testimony) answers 503 "sealed"."""
    own = _web_client(app, witness.user)
    app.extensions["vault"].seal()
    viewed = get_session().scalar(sa.select(sa.func.count()).select_from(CustodyEvent).where(
        CustodyEvent.action == "viewed"))
    fresh_g()
    page = own.get(f"/submissions/{written['submission']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "(name sealed)" in text
    assert "(question sealed)" in text
    assert FILE_NAME not in text
    fresh_g()
    case = staff.get(f"/cases/{written['case']}")
    assert case.status_code == 200
    assert "The description is sealed" in case.get_data(as_text=True)
    fresh_g()
    incident = staff.get(f"/incidents/{written['incident']}")
    assert incident.status_code == 200
    assert "The description is sealed" in incident.get_data(as_text=True)
    fresh_g()
    assert staff.get(f"/incidents/{written['incident']}/edit").status_code == 503
    fresh_g()
    assert staff.get(f"/review/submissions/{written['submission']}").status_code == 503
    api = {
        f"/api/v1/submissions/{written['submission']}": witness.token,
        f"/api/v1/submissions/{written['submission']}/receipt": witness.token,
        f"/api/v1/review/submissions/{written['submission']}": reviewer.token,
        f"/api/v1/cases/{written['case']}": reviewer.token,
        f"/api/v1/review/incidents/{written['incident']}": reviewer.token,
        "/api/v1/review/incidents": reviewer.token,
        "/api/v1/submissions": witness.token,
    }
    for path, token in api.items():
        response = call(staff, "GET", path, token)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
        body = response.get_data(as_text=True)
        for secret in EVERY_TEXT:
            assert secret not in body
    assert call(staff, "GET", f"/api/v1/cases/{written['case']}",
                reviewer.token).get_json()["description"] is None
    # Nothing was opened, so no access was recorded.
    assert get_session().scalar(sa.select(sa.func.count()).select_from(CustodyEvent).where(
        CustodyEvent.action == "viewed")) == viewed


def test_key_rotation_reseals_the_sealed_texts_and_retires_the_old_key(
        app, written, staff, reviewer, witness, settings, keys, recovery_share) -> None:
    """Ordinary blobs, so `keys rotate` covers them; an unclaimed upload's sealed name is kept
    under its key (which then stays, as the uploads' own keys do) until it is claimed."""
    session = get_session()
    old = keys.active_key_id()
    rotation = key_rotation.rotate_keys(session, keys, settings.key_dir)
    assert rotation.retired == [old]
    records = session.scalars(sa.select(BlobRecord)).all()
    assert {r.key_id for r in records} == {rotation.new_key_id}
    fresh = ring_of(settings.key_dir, shares=[recovery_share])
    note = session.scalars(sa.select(ReviewerNote)).one()
    record = session.get(BlobRecord, note.body_blob_id)
    with BlobStore(app.extensions["blobstore"].backend, fresh).open(record) as reader:
        assert json.loads(reader.read()) == {"text": NOTE}
    fresh_g()
    page = staff.get(f"/review/submissions/{written['submission']}").get_data(as_text=True)
    assert NOTE in page
    assert REASON in page


def test_an_unclaimed_uploads_sealed_name_keeps_its_key_from_retiring(
        app, client, witness, settings, keys) -> None:
    auth = {"Authorization": f"Bearer {witness.token}", **TUS}
    create(client, auth, 5, filename=UPLOAD_NAME)
    old = keys.active_key_id()
    rotation = key_rotation.rotate_keys(get_session(), keys, settings.key_dir)
    assert old in rotation.kept  # the upload (and its sealed name) still need it


PENDING_NAME = "pending_from_Aigerim.mp4"


def _alembic(settings, action: str, revision: str) -> None:  # noqa: ANN001
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = settings.effective_database_url
    getattr(command, action)(config, revision)


def test_an_instance_from_before_0013_has_its_clear_texts_sealed_by_init(
        app, client, runner, written, witness, staff, settings, instance_path) -> None:
    """The upgrade: an instance at 0010 holding every text in the clear, migrated to 0013,
    then `vault seal-backlog` (run by `init`): each value sealed and readable, the clear
    columns gone, the text nowhere in the database file or the instance folder."""
    auth = {"Authorization": f"Bearer {witness.token}", **TUS}
    fresh_g()
    create(client, auth, 5, filename="placeholder.mp4")
    session = get_session()
    photo = session.scalars(sa.select(EvidenceItem).where(
        EvidenceItem.public_id == written["item"])).one()
    clip = session.scalars(sa.select(EvidenceItem).where(
        EvidenceItem.kind == EvidenceKind.FILE, EvidenceItem.id != photo.id)).one()
    photo_id, clip_id = photo.id, clip.id
    session.close()
    get_db().engine.dispose()
    _alembic(settings, "downgrade", "0010")
    engine = sa.create_engine(settings.effective_database_url)
    with engine.begin() as connection:
        for sql, value in (
                (f"UPDATE evidence_items SET declared_name = :v WHERE id = {photo_id}",
                 FILE_NAME),
                (f"UPDATE evidence_items SET declared_name = :v WHERE id = {clip_id}",
                 UPLOAD_NAME),
                ("UPDATE evidence_items SET declared_name = :v WHERE kind = 'testimony'",
                 "testimony.txt"),
                ("UPDATE assessments SET reason = :v", REASON),
                ("UPDATE reviewer_notes SET body = :v", NOTE),
                ("UPDATE info_requests SET question = :v", QUESTION),
                ("UPDATE cases SET description = :v", CASE_DESCRIPTION),
                ("UPDATE incidents SET description = :v", INCIDENT_DESCRIPTION),
                ("UPDATE uploads SET filename = :v", PENDING_NAME)):
            connection.execute(sa.text(sql), {"v": value})
    engine.dispose()
    _alembic(settings, "upgrade", "head")
    columns = {t: {c["name"] for c in sa.inspect(get_db().engine).get_columns(t)}
               for t in ("evidence_items", "assessments", "reviewer_notes", "info_requests",
                         "cases", "incidents", "uploads")}
    for table, gone in (("evidence_items", "declared_name"), ("assessments", "reason"),
                        ("reviewer_notes", "body"), ("info_requests", "question"),
                        ("cases", "description"), ("incidents", "description"),
                        ("uploads", "filename")):
        assert gone not in columns[table], f"{table}.{gone} is still there"
    assert get_session().scalar(sa.select(sa.func.count()).select_from(SealingBacklog)) == 8
    get_session().rollback()
    result = runner.invoke(args=["vault", "seal-backlog"])
    assert result.exit_code == 0, result.output
    assert "sealed 8 value(s)" in result.output
    _assert_nowhere(app, instance_path, *EVERY_TEXT, PENDING_NAME)
    assert get_session().scalar(sa.select(sa.func.count()).select_from(SealingBacklog)) == 0
    # Readable again, each through the ledger, and the ledger agrees with the tables.
    fresh_g()
    page = staff.get(f"/review/submissions/{written['submission']}").get_data(as_text=True)
    assert NOTE in page
    assert REASON in page
    assert QUESTION in page
    fresh_g()
    assert CASE_DESCRIPTION in staff.get(f"/cases/{written['case']}").get_data(as_text=True)
    fresh_g()
    assert INCIDENT_DESCRIPTION in staff.get(
        f"/incidents/{written['incident']}").get_data(as_text=True)
    names = [i["name"] for i in call(client, "GET", f"/api/v1/submissions/{written['second']}",
                                     witness.token).get_json()["items"]]
    assert UPLOAD_NAME in names
    upload = get_session().scalars(sa.select(Upload)).one()
    with app.extensions["blobstore"].open(PendingName.of(upload.pending_name)) as reader:
        assert json.loads(reader.read()) == {"text": PENDING_NAME}
    get_session().rollback()
    verified = runner.invoke(args=["custody", "verify"])
    assert verified.exit_code == 0, verified.output
    again = runner.invoke(args=["vault", "seal-backlog"])
    assert "nothing left to seal" in again.output
