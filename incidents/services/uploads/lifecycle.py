"""Creating, terminating, sweeping and claiming uploads."""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.errors import (
    N_,
    ByteCount,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from incidents.models import (
    BlobRecord,
    BlobStatus,
    Upload,
    UploadFormat,
    UploadState,
    User,
)
from incidents.services import custody
from incidents.services.evidence import blobs
from incidents.services.uploads.common import (
    PendingName,
    _delete_blobs,
    _discard,
    _owned,
    _progress,
    seal_pending_name,
)
from incidents.services.uploads.protocol import (
    OPPORTUNISTIC_SWEEP,
    PUBLIC_ID_LEN,
    Progress,
    UploadPolicy,
    parse_metadata,
)
from incidents.services.uploads.receive import (
    _finish_stream,
)
from storage.blobstore import BlobStore
from storage.crypto.capability import new_capability
from storage.crypto.keys import reseal
from storage.errors import (
    StorageError,
    StorageFull,
    VaultSealed,
)

log = logging.getLogger(__name__)


def create_upload(
    session: Session,
    store: BlobStore,
    user: User,
    policy: UploadPolicy,
    *,
    length: int,
    metadata: str = "",
) -> Progress:
    """POST: a new, empty upload of ``length`` bytes (checked against the limit first)."""
    if length < 0:
        raise InvalidInput(N_("Upload-Length must be a non-negative integer."),
                           field="Upload-Length")
    if length > policy.max_bytes:
        raise PayloadTooLarge(N_("This file is larger than the limit of %(limit)s."),
                              limit=ByteCount(policy.max_bytes))
    meta = parse_metadata(metadata)
    sweep(session, store, limit=OPPORTUNISTIC_SWEEP)  # a few at a time, so none lingers
    session.commit()
    capability = new_capability()
    try:
        writer, key_id, sealed_key, first = store.create_appendable(length=length,
                                                                    capability=capability)
    except StorageFull as e:
        raise ServiceUnavailable(N_("The server has no space left. Nothing was stored.")) from e
    except StorageError as e:
        raise ServiceUnavailable(N_("The evidence store failed; nothing was stored.")) from e
    writer.close()
    try:
        pending_name = seal_pending_name(store, meta.get("filename", ""))
    except BaseException:
        store.discard_appendable(writer.blob_id, first.backend_state)
        raise
    now = utcnow()
    upload = Upload(
        public_id=secrets.token_hex(PUBLIC_ID_LEN // 2),
        owner_id=user.id,
        length=length,
        offset=0,
        pending_name=pending_name.as_json() if pending_name else None,
        filetype=meta.get("filetype", ""),
        state=UploadState.RECEIVING,
        created_at=now,
        expires_at=now + policy.lifetime,
        format=UploadFormat.STREAM.value,
        blob_id=writer.blob_id,
        key_id=key_id,
        sealed_key=sealed_key,
        sealed_state=first.sealed_state,
        backend_state=first.backend_state,
    )
    session.add(upload)
    try:
        session.commit()
    except BaseException:
        session.rollback()
        store.discard_appendable(writer.blob_id, first.backend_state)
        if pending_name is not None:
            _delete_blobs(store, [pending_name.blob_id])
        raise
    token = upload.public_id + capability
    if length == 0:  # nothing will ever be PATCHed: finish now
        _finish_stream(session, store, upload.id, capability)
        session.refresh(upload)
    return _progress(upload, token)


def terminate(session: Session, store: BlobStore, user: User, upload_id: str) -> None:
    """DELETE: forget the caller's upload and remove its bytes."""
    upload = _owned(session, user, upload_id, utcnow())
    _discard(session, store, upload.id)


def sweep(
    session: Session, store: BlobStore, *, now: datetime | None = None, limit: int | None = None
) -> int:
    """Remove expired uploads (finished or not) and their bytes; return how many."""
    query = select(Upload.id).where(Upload.expires_at <= (now or utcnow()))
    expired = session.scalars(query.limit(limit) if limit else query).all()
    session.commit()
    for pk in expired:
        _discard(session, store, pk)
    if expired:
        log.info("swept %d expired uploads", len(expired))
    return len(expired)


@dataclass(frozen=True)
class Claimed:
    """A claimed upload: its blob record, its sealed name's blob id (None: no name was
    declared) and its declared type."""

    record: BlobRecord
    name_blob_id: str | None
    declared_type: str


def claim_finished_upload(
    session: Session, store: BlobStore, user: User, upload_id: str, *, subject: str
) -> Claimed:
    """Make a finished upload evidence: its blob record, sealed name and declared type.

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
    kind = upload.filetype
    name = PendingName.of(upload.pending_name) if upload.pending_name is not None else None
    commitment = upload.commitment
    if commitment is None:  # finished before migration 0010: only the vault can say
        try:
            sha256, salt = blobs.unseal_digest(store.keys, record)
        except StorageError as e:
            raise ServiceUnavailable(N_("The vault key is not available; nothing was "
                                        "stored.")) from e
        commitment = custody.commitment(sha256, salt)
    claimed = session.execute(
        delete(Upload)
        .where(Upload.id == upload.id, Upload.state == UploadState.FINISHED)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound(N_("There is no such upload, or it has expired."))
    session.expunge(upload)
    custody.append(session, actor=user.public_id, action="stored",
                   subject=f"blob:{record.id}", commitment=commitment,
                   details={"size": record.size, "part_of": subject})
    # As in blobs.ingest: if the vault key was rotated since this blob was sealed (maybe
    # by another process), re-seal now, under the ledger lock, so the old key can retire.
    # While sealed this waits: the old key stays in use, so it cannot be retired meanwhile.
    current = custody.head(session)
    active = current.active_key_id if current else None
    with contextlib.suppress(VaultSealed):
        if active is not None and active != record.key_id:
            record.key_id, record.sealed_key = reseal(store.keys, record.key_id,
                                                      record.sealed_key, record.id)
        if active is not None and active != record.digest_key_id:
            record.digest_key_id, record.sealed_digest = reseal(
                store.keys, record.digest_key_id, record.sealed_digest,
                record.id + blobs.DIGEST_SUFFIX)
    session.add(record)
    if name is not None:
        name_record = name.record()
        custody.append(session, actor=user.public_id, action="stored",
                       subject=f"blob:{name_record.id}", commitment=name.commitment,
                       details={"size": name_record.size, "part_of": subject})
        with contextlib.suppress(VaultSealed):
            if active is not None and active != name_record.key_id:
                name_record.key_id, name_record.sealed_key = reseal(
                    store.keys, name_record.key_id, name_record.sealed_key, name_record.id)
            if active is not None and active != name_record.digest_key_id:
                name_record.digest_key_id, name_record.sealed_digest = reseal(
                    store.keys, name_record.digest_key_id, name_record.sealed_digest,
                    blobs.digest_context(name_record.id))
        session.add(name_record)
    session.flush()
    return Claimed(record, name.blob_id if name else None, kind)
