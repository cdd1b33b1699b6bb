"""A finished upload becomes a submission's file: claimed in the submission's unit of work."""

from __future__ import annotations

import logging

from sqlalchemy import delete
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.errors import (
    N_,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
)
from incidents.models import BlobRecord, BlobStatus, Upload, UploadState, User
from incidents.services import custody
from incidents.services.evidence import blobs
from incidents.services.uploads.transfer import _owned
from storage.blobstore import BlobStore
from storage.crypto.keys import reseal
from storage.errors import StorageError

log = logging.getLogger(__name__)


def claim_finished_upload(
    session: Session, store: BlobStore, user: User, upload_id: str, *, subject: str
) -> tuple[BlobRecord, str, str]:
    """Make a finished upload evidence: (its blob record, declared name, declared type).

    In the caller's transaction (which must have called ``begin_write``, as for
    ``blobs.ingest``): adds the blob record and its "stored" custody event (``subject``
    as for ``blobs.ingest``, e.g. "submission:<id>") and deletes the upload row, so the
    claim commits or rolls back with the submission, and a blob is claimed at most once.
    Raises NotFound for someone else's, expired or unknown uploads and InvalidInput
    (field "uploads") for one that has not finished.
    """
    upload = _owned(session, user, upload_id, utcnow())
    if (upload.state is not UploadState.FINISHED or upload.blob_id is None
            or upload.key_id is None or upload.sealed_key is None
            or upload.ciphertext_sha256 is None or upload.digest_key_id is None
            or upload.sealed_digest is None):
        raise InvalidInput(N_("An upload has not finished yet."), field="uploads")
    record = BlobRecord(id=upload.blob_id, size=upload.length,
                        ciphertext_sha256=upload.ciphertext_sha256, key_id=upload.key_id,
                        sealed_key=upload.sealed_key, digest_key_id=upload.digest_key_id,
                        sealed_digest=upload.sealed_digest, status=BlobStatus.ACTIVE)
    name, kind = upload.filename, upload.filetype
    try:
        sha256, salt = blobs.unseal_digest(store.keys, record)
    except StorageError as e:
        raise ServiceUnavailable(N_("The vault key is not available; nothing was stored.")) from e
    claimed = session.execute(
        delete(Upload)
        .where(Upload.id == upload.id, Upload.state == UploadState.FINISHED)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound(N_("There is no such upload, or it has expired."))
    session.expunge(upload)
    commitment = custody.commitment(sha256, salt)
    custody.append(session, actor=user.public_id, action="stored",
                   subject=f"blob:{record.id}", commitment=commitment,
                   details={"size": record.size, "part_of": subject})
    # As in blobs.ingest: if the vault key was rotated since this blob was sealed (maybe
    # by another process), re-seal now, under the ledger lock, so the old key can retire.
    current = custody.head(session)
    active = current.active_key_id if current else None
    if active is not None and active != record.key_id:
        record.key_id, record.sealed_key = reseal(store.keys, record.key_id, record.sealed_key,
                                                  record.id)
    if active is not None and active != record.digest_key_id:
        record.digest_key_id, record.sealed_digest = reseal(
            store.keys, record.digest_key_id, record.sealed_digest,
            record.id + blobs.DIGEST_SUFFIX)
    session.add(record)
    session.flush()
    return record, name, kind
