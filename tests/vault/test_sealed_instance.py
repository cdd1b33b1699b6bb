"""A sealed instance: every evidence read says "sealed" (503, in the reader's language), the
seal takes effect on the very next request, intake goes on, and processing waits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import AuditEvent, CustodyEvent, EvidenceItem, Role, User
from incidents.models.media import MediaProcessing, ProcessingStatus
from incidents.services import totp
from incidents.web.db import get_session
from tests.helpers import current_code, fresh_g, gen_user, login
from tests.review.fixtures import PHOTO, Actor, call, items_of
from tests.submissions.helpers import gen_metadata, post_submission

SEALED_RU = "Хранилище доказательств запечатано"


def gen_trustee() -> tuple[User, list[str]]:
    """An admin with TOTP and their recovery codes: signing in uses this step's code, so the
    second factor on the unseal form (within the same 30 s) is one of the recovery codes."""
    session = get_session()
    user = gen_user(Role.ADMIN, with_totp=False)
    totp.begin_enrolment(user)
    codes = totp.confirm_enrolment(session, user, current_code(user))
    session.commit()
    return user, codes


def csrf(client: FlaskClient, path: str = "/admin/vault") -> str:
    fresh_g()
    return client.get(path).get_data(as_text=True).split(
        'name="csrf_token" value="')[1].split('"')[0]


def _seal(app: Flask) -> None:
    app.extensions["vault"].seal()


def _sealed_json(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["error"] == "vault_sealed"
    assert "sealed" in body["message"]


@pytest.fixture
def sealed_evidence(app: Flask, client: FlaskClient, submit, reviewer: Actor) -> dict:
    """A processed submission with a photo, then the vault sealed."""
    submission = submit()
    items = items_of(client, reviewer.token, submission)
    photo = next(i for i in items if i["kind"] == "file")
    _seal(app)
    return {"submission": submission, "item": photo["id"]}


def test_the_api_original_answers_503_sealed(client, sealed_evidence, reviewer) -> None:
    _sealed_json(call(client, "GET", f"/api/v1/evidence/{sealed_evidence['item']}/original",
                      reviewer.token))


def test_a_bundle_over_the_api_answers_503_sealed(client, sealed_evidence, reviewer) -> None:
    _sealed_json(call(client, "POST", "/api/v1/bundles", reviewer.token,
                      {"evidence_ids": [sealed_evidence["item"]]}))


def test_the_testimony_over_the_api_answers_503_sealed(client, sealed_evidence,
                                                      reviewer) -> None:
    # The review API's submission view holds no evidence (it still answers); the testimony
    # is an item of its own.
    items = items_of(client, reviewer.token, sealed_evidence["submission"])
    testimony = next(i for i in items if i["kind"] != "file")
    _sealed_json(call(client, "GET", f"/api/v1/evidence/{testimony['id']}/original",
                      reviewer.token))


def test_a_sealed_read_records_no_access_that_did_not_happen(client, sealed_evidence,
                                                            reviewer) -> None:
    before = get_session().scalar(sa.select(sa.func.count()).select_from(CustodyEvent))
    call(client, "GET", f"/api/v1/evidence/{sealed_evidence['item']}/original", reviewer.token)
    after = get_session().scalar(sa.select(sa.func.count()).select_from(CustodyEvent))
    assert after == before


@pytest.mark.parametrize("page", ["original", "preview", "submission"])
def test_web_evidence_pages_say_sealed_in_the_readers_language(app, client, sealed_evidence,
                                                               page) -> None:
    reader = gen_user(Role.REVIEWER)
    login(client, reader)
    item, submission = sealed_evidence["item"], sealed_evidence["submission"]
    path = {"original": f"/review/items/{item}/original",
            "preview": f"/review/items/{item}/preview/preview",
            "submission": f"/review/submissions/{submission}"}[page]
    fresh_g()
    response = client.get(path, headers={"Accept-Language": "ru"})
    assert response.status_code == 503
    assert SEALED_RU in response.get_data(as_text=True)


def test_seal_now_makes_the_next_read_fail(app, client, submit, reviewer) -> None:
    submission = submit()
    item = next(i for i in items_of(client, reviewer.token, submission) if i["kind"] == "file")
    url = f"/api/v1/evidence/{item['id']}/original"
    assert call(client, "GET", url, reviewer.token).status_code == 200
    admin = gen_user(Role.ADMIN)
    login(client, admin)
    fresh_g()
    page = client.get("/admin/vault").get_data(as_text=True)
    assert "Seal now" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    fresh_g()
    assert client.post("/admin/vault/seal", data={"csrf_token": token}).status_code == 302
    _sealed_json(call(client, "GET", url, reviewer.token))
    session = get_session()
    assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "vault_sealed"))
    event = session.scalar(sa.select(CustodyEvent).where(CustodyEvent.action == "vault_sealed"))
    assert event.actor == admin.public_id


def test_witnesses_submit_while_sealed_and_processing_waits_then_completes(
        app, client, witness, reviewer, recovery_share) -> None:
    _seal(app)
    app.extensions["media_queue"] = lambda ids: [
        app.extensions["jobs"].run("process_item", i) for i in ids]
    response = post_submission(client, witness.token, gen_metadata(),
                               [(PHOTO.read_bytes(), PHOTO.name, "image/jpeg")])
    assert response.status_code == 201, response.get_data(as_text=True)
    session = get_session()
    rows = session.scalars(sa.select(MediaProcessing)).all()
    assert [r.status for r in rows] == [ProcessingStatus.PENDING]
    assert rows[0].error == "waiting_for_vault"
    # The review page says so, once unsealed (it cannot be read while sealed).
    admin, codes = gen_trustee()
    login(client, admin)
    token = csrf(client)
    jobs = app.extensions["jobs"]
    if jobs.uses_redis:  # the worker's Redis database may hold jobs of earlier tests
        jobs.queue().empty()
    fresh_g()
    response = client.post("/admin/vault/unseal", data={
        "csrf_token": token, "share": recovery_share, "code": codes[0]})
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    if jobs.uses_redis:  # queued for the RQ workers: run what one of them would run
        queued_jobs = jobs.queue().jobs
        waiting = session.get(EvidenceItem, rows[0].item_id).public_id
        assert [job.args for job in queued_jobs] == [("process_item", waiting)]
        for job in queued_jobs:
            jobs.run(*job.args)
            job.delete()
    jobs.shutdown(wait=True)
    session.rollback()  # a new snapshot: the job committed in its own session
    assert [r.status for r in session.scalars(sa.select(MediaProcessing))] == [
        ProcessingStatus.DONE]
    assert session.scalar(sa.select(CustodyEvent).where(CustodyEvent.action == "vault_unsealed"))


def test_a_tus_upload_and_its_submission_while_sealed(app, client, witness,
                                                      queued) -> None:
    _seal(app)
    body = PHOTO.read_bytes()
    headers = {"Authorization": f"Bearer {witness.token}", "Tus-Resumable": "1.0.0"}
    fresh_g()
    created = client.post("/api/v1/uploads/", headers={
        **headers, "Upload-Length": str(len(body)),
        "Upload-Metadata": "filename cGhvdG8uanBn,filetype aW1hZ2UvanBlZw=="})
    assert created.status_code == 201, created.get_data(as_text=True)
    location = created.headers["Location"]
    fresh_g()
    patched = client.patch(location, data=body, headers={
        **headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert patched.status_code == 204, patched.get_data(as_text=True)
    upload_id = location.rstrip("/").rsplit("/", 1)[-1]
    response = post_submission(client, witness.token, gen_metadata(uploads=[upload_id]))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert len(queued) == 1


def test_custody_verify_blobs_while_sealed_checks_what_needs_no_key(app, runner, submit,
                                                                    reviewer) -> None:
    submit()
    _seal(app)
    result = runner.invoke(args=["custody", "verify", "--blobs", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "ciphertext only" in result.output
    assert "Waiting for the key" in result.output
    assert "plaintext SHA-256" in result.output


def test_custody_verify_blobs_while_sealed_still_finds_a_damaged_blob(app, runner, submit,
                                                                     settings) -> None:
    submit()
    _seal(app)
    victim = next(p for p in Path(settings.blob_dir).rglob("*") if p.is_file())
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    result = runner.invoke(args=["custody", "verify", "--blobs", "--no-progress"])
    assert result.exit_code == 1
    assert "first bad blob" in result.output


def test_the_cli_bundle_export_says_sealed(app, runner, sealed_evidence, tmp_path) -> None:
    result = runner.invoke(args=["bundle", "export", "--item", sealed_evidence["item"],
                                 "--out", str(tmp_path / "b.zip")])
    assert result.exit_code != 0
    assert "sealed" in result.output
    assert not (tmp_path / "b.zip").exists()


def test_the_admin_page_shows_pending_shares(app, client, tmp_path) -> None:
    _seal(app)
    admin = gen_user(Role.ADMIN)
    login(client, admin)
    fresh_g()
    page = client.get("/admin/vault").get_data(as_text=True)
    assert "Sealed." in page
    assert "Shares given so far: 0 of 1." in page


def test_the_review_page_says_what_waits_for_the_vault(app, client, witness,
                                                       recovery_share) -> None:
    _seal(app)
    app.extensions["media_queue"] = lambda ids: [
        app.extensions["jobs"].run("process_item", i) for i in ids]
    response = post_submission(client, witness.token, gen_metadata(),
                               [(PHOTO.read_bytes(), PHOTO.name, "image/jpeg")])
    submission = response.get_json()["id"]
    app.extensions["vault"].add_share(recovery_share)  # unsealed; the job not yet re-run
    login(client, gen_user(Role.REVIEWER))
    fresh_g()
    page = client.get(f"/review/submissions/{submission}").get_data(as_text=True)
    assert "processing waits for the vault to be unsealed" in page


def test_a_receipt_while_sealed_has_events_proofs_and_commitments_and_hashes_after(
        app, client, witness, recovery_share) -> None:
    _seal(app)
    response = post_submission(client, witness.token, gen_metadata(),
                               [(PHOTO.read_bytes(), PHOTO.name, "image/jpeg")])
    submission = response.get_json()["id"]
    fresh_g()
    sealed = call(client, "GET", f"/api/v1/submissions/{submission}/receipt", witness.token)
    assert sealed.status_code == 200, sealed.get_data(as_text=True)
    body = sealed.get_json()
    assert body["hashes_pending"] is True
    assert {i["sha256"] for i in body["items"]} == {None}
    assert all(i["commitment"] for i in body["items"])
    assert body["checkpoint"]["note"]
    app.extensions["vault"].add_share(recovery_share)
    later = call(client, "GET", f"/api/v1/submissions/{submission}/receipt",
                 witness.token).get_json()
    assert later["hashes_pending"] is False
    assert [i["commitment"] for i in later["items"]] == [i["commitment"] for i in body["items"]]
    photo = next(i for i in later["items"] if i["kind"] == "file")
    assert photo["sha256"] == hashlib.sha256(PHOTO.read_bytes()).hexdigest()
