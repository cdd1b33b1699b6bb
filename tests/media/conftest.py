"""Fixtures for media processing: the app's real store and keys, evidence items from bytes."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from incidents.models import EvidenceItem, EvidenceKind, Role, Submission, TimePrecision
from incidents.services.evidence import blobs, sealed
from storage.blobstore import BlobStore
from tests.helpers import gen_user

ItemFactory = Callable[..., EvidenceItem]


def gen_submission(session: Session) -> Submission:
    user = gen_user(Role.CONTRIBUTOR)
    submission = Submission(public_id=secrets.token_hex(16), owner_id=user.id,
                            time_precision=TimePrecision.UNKNOWN, consent_legal=True,
                            consent_research=False, consent_publication=False,
                            consent_contact=False)
    session.add(submission)
    session.commit()
    return submission


@pytest.fixture
def gen_item(session: Session, store: BlobStore) -> ItemFactory:
    """An evidence item holding `data`, stored and recorded as the submission service does."""

    def make(data: bytes, *, name: str = "file.bin", declared_type: str = "",
             submission: Submission | None = None) -> EvidenceItem:
        owner = submission or gen_submission(session)
        with blobs.unit_of_work(session):
            ingested = blobs.ingest(session, store, io.BytesIO(data), actor=None,
                                    subject=f"submission:{owner.public_id}",
                                    max_size=1024**3)
            name_blob_id = sealed.seal_text(session, store, name, actor=None,
                                            part_of=f"submission:{owner.public_id}")
            item = EvidenceItem(public_id=secrets.token_hex(16), submission_id=owner.id,
                                kind=EvidenceKind.FILE, blob_id=ingested.record.id,
                                name_blob_id=name_blob_id, declared_type=declared_type,
                                size=len(data))
            session.add(item)
        return item

    return make
