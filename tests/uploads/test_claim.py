"""A submission claims a finished upload: it becomes evidence exactly once."""

from __future__ import annotations

import hashlib
import os

import pytest
from sqlalchemy import select

from incidents.core.database import begin_write
from incidents.core.errors import InvalidInput, NotFound
from incidents.models import BlobRecord, CustodyEvent, Upload
from incidents.services import custody
from incidents.services.evidence import blobs
from incidents.services.uploads import claim_finished_upload
from incidents.web.db import get_session
from tests.helpers import gen_user, sealed_text
from tests.submissions.helpers import api_get, gen_metadata, post_submission
from tests.uploads.conftest import create, patch


def _public_id(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _finished(client, auth, data: bytes, **meta: str) -> str:  # noqa: ANN001
    path = create(client, auth, len(data), **meta)
    assert patch(client, auth, path, 0, data).status_code == 204
    return _public_id(path)


def test_claiming_records_the_blob_with_its_sha256_and_a_stored_event(
        client, auth, witness, store):
    data = os.urandom(70_000)
    upload_id = _finished(client, auth, data, filename="фото.jpg", filetype="image/jpeg")
    session = get_session()
    begin_write(session)
    claimed = claim_finished_upload(session, store, witness, upload_id,
                                    subject="submission:test")
    session.commit()
    assert claimed.declared_type == "image/jpeg"
    # The declared name was sealed when the upload was made; claiming records its blob
    # with a "stored" event whose commitment matches its (sealed) digest.
    assert sealed_text(client.application, claimed.name_blob_id) == "фото.jpg"
    name_record = session.get(BlobRecord, claimed.name_blob_id)
    name_sha256, name_salt = blobs.unseal_digest(store.keys, name_record)
    name_event = session.scalars(select(CustodyEvent).where(
        CustodyEvent.subject == f"blob:{name_record.id}")).one()
    assert (name_event.action, name_event.commitment) == (
        "stored", custody.commitment(name_sha256, name_salt))
    assert name_event.details["part_of"] == "submission:test"
    record = session.get(BlobRecord, claimed.record.id)
    assert record.size == len(data)
    sha256, salt = blobs.unseal_digest(store.keys, record)
    assert sha256 == hashlib.sha256(data).hexdigest()
    event = session.scalars(select(CustodyEvent).where(
        CustodyEvent.subject == f"blob:{record.id}")).one()
    assert (event.action, event.commitment) == ("stored", custody.commitment(sha256, salt))
    assert session.scalars(select(Upload)).all() == []
    with store.open(record) as reader:
        assert reader.read() == data


def test_an_upload_can_be_claimed_only_once(client, auth, witness, store):
    upload_id = _finished(client, auth, b"evidence")
    session = get_session()
    begin_write(session)
    claim_finished_upload(session, store, witness, upload_id, subject="submission:a")
    session.commit()
    begin_write(session)
    with pytest.raises(NotFound):
        claim_finished_upload(session, store, witness, upload_id, subject="submission:b")


def test_a_rolled_back_claim_leaves_the_upload_claimable(client, auth, witness, store):
    upload_id = _finished(client, auth, b"evidence")
    session = get_session()
    begin_write(session)
    claim_finished_upload(session, store, witness, upload_id, subject="submission:a")
    session.rollback()
    begin_write(session)
    claimed = claim_finished_upload(session, store, witness, upload_id,
                                    subject="submission:a")
    session.commit()
    assert store.exists(claimed.record.id)


def test_someone_elses_upload_cannot_be_claimed(client, auth, store):
    upload_id = _finished(client, auth, b"evidence")
    intruder = gen_user(pseudonym="intruder")
    with pytest.raises(NotFound):
        claim_finished_upload(get_session(), store, intruder, upload_id, subject="submission:x")


def test_an_unfinished_upload_cannot_be_claimed(client, auth, witness, store):
    path = create(client, auth, 10)
    patch(client, auth, path, 0, b"12345")
    with pytest.raises(InvalidInput) as caught:
        claim_finished_upload(get_session(), store, witness, _public_id(path),
                              subject="submission:x")
    assert caught.value.field == "uploads"


def test_a_submission_through_the_api_takes_a_finished_upload_and_its_receipt_has_the_hash(
        app, client, auth, witness):
    app.extensions["media_queue"] = lambda _items: None  # processing is tested elsewhere
    data = os.urandom(50_000)
    upload_id = _finished(client, auth, data, filename="кадр.jpg", filetype="image/jpeg")
    token = auth["Authorization"].removeprefix("Bearer ")
    response = post_submission(client, token, gen_metadata(uploads=[upload_id]))
    assert response.status_code == 201, response.get_json()
    submission = response.get_json()["id"]
    receipt = api_get(client, f"/api/v1/submissions/{submission}/receipt", token).get_json()
    assert hashlib.sha256(data).hexdigest() in str(receipt)
    again = post_submission(client, token, gen_metadata(uploads=[upload_id]))
    assert again.status_code == 404  # claimed once; now it is nobody's upload
