"""Resumable uploads (tus 1.0.0 core, creation, termination, expiration, checksum).

How the bytes are kept (never in plaintext, safe with many processes and restarts):

- each PATCH body streams into its own encrypted segment blob; if the client goes away
  mid-body, what arrived is committed and the offset advances by exactly that much;
- the offset moves with a conditional UPDATE (``WHERE offset = <offset the PATCH started
  at>``), so of two racing PATCHes at most one is recorded; the loser's blob is deleted;
- when the last byte arrives the segments are decrypted in order into one final blob
  (the plaintext SHA-256 computed once, by the blob writer), recorded through the blobs
  service, and the segments are deleted. A body that carries the whole file in one PATCH
  is its own final blob: nothing is copied.

No database transaction is held open while bytes stream in. The submission service claims
the finished blob with ``claim_finished_upload``; that deletes the upload row in the same
transaction as the submission, so a failed submission leaves the upload claimable.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.errors import (
    N_,
    ByteCount,
    ChecksumMismatch,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from incidents.models import Upload, UploadSegment, UploadState, User
from incidents.services import custody
from incidents.services.evidence import blobs
from incidents.services.uploads.protocol import parse_metadata
from storage.blob_writer import StoredBlob
from storage.blobstore import BlobStore
from storage.errors import BlobTooLarge, StorageError, StorageFull

log = logging.getLogger(__name__)


OPPORTUNISTIC_SWEEP = 5  # expired uploads removed whenever a new one is created


@dataclass(frozen=True)
class UploadPolicy:
    """Limits from settings: the largest file and how long an unfinished upload lives."""

    max_bytes: int
    lifetime: timedelta


@dataclass(frozen=True)
class Progress:
    """Where an upload stands, for the tus response headers."""

    upload_id: str
    offset: int
    length: int
    expires_at: datetime
    finished: bool


class Body(Protocol):
    """A request body being received: ``readinto`` returns 0 at its end or when the client
    went away (then ``disconnected`` is true)."""

    disconnected: bool

    def readinto(self, buffer: memoryview) -> int: ...


def _owned(session: Session, user: User, upload_id: str, now: datetime) -> Upload:
    """The caller's own, unexpired upload; anything else looks like nothing at all."""
    # populate_existing: offsets move by UPDATE statements, possibly in other processes.
    upload = session.scalars(select(Upload).where(Upload.public_id == upload_id)
                             .execution_options(populate_existing=True)).first()
    if upload is None or upload.owner_id != user.id or upload.expires_at <= now:
        raise NotFound(N_("There is no such upload, or it has expired."))
    return upload


def _progress(upload: Upload) -> Progress:
    return Progress(upload.public_id, upload.offset, upload.length, upload.expires_at,
                    upload.state is UploadState.FINISHED)


def get_progress(session: Session, store: BlobStore, user: User, upload_id: str) -> Progress:
    """HEAD: how many bytes of the caller's upload are stored.

    An upload whose every byte arrived but that was not finished (the process finishing it
    died) is finished now, so that an offset equal to the length always means "done".
    """
    upload = _owned(session, user, upload_id, utcnow())
    if upload.complete and upload.state is UploadState.RECEIVING:
        _finish(session, store, upload.id, single=None)
        upload = _owned(session, user, upload_id, utcnow())
    return _progress(upload)


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
    now = utcnow()
    upload = Upload(
        public_id=secrets.token_hex(16),
        owner_id=user.id,
        length=length,
        offset=0,
        filename=meta.get("filename", ""),
        filetype=meta.get("filetype", ""),
        state=UploadState.RECEIVING,
        created_at=now,
        expires_at=now + policy.lifetime,
    )
    session.add(upload)
    session.commit()
    if length == 0:  # nothing will ever be PATCHed: finish now
        _finish(session, store, upload.id, single=None)
        session.refresh(upload)
    return _progress(upload)


def append(
    session: Session,
    store: BlobStore,
    user: User,
    policy: UploadPolicy,
    upload_id: str,
    *,
    offset: int,
    body: Body,
    content_length: int | None,
    checksum: bytes | None = None,
) -> Progress:
    """PATCH: store the body at ``offset``; commits its own transactions (see module doc).

    Raises Conflict if ``offset`` is not where the upload stands (or another PATCH got
    there first), PayloadTooLarge if the body runs past the declared length (the upload
    is then deleted), ChecksumMismatch if a checksum was sent and the bytes differ.
    """
    now = utcnow()
    upload = _owned(session, user, upload_id, now)
    if upload.state is UploadState.FINISHED or offset != upload.offset:
        raise Conflict(N_("The upload offset does not match; ask for the current one."),
                       field="Upload-Offset")
    pk, start, length = upload.id, upload.offset, upload.length
    remaining = length - start
    if content_length is not None and content_length > remaining:
        _discard(session, store, pk)
        raise PayloadTooLarge(N_("More bytes were sent than the upload declared."))
    session.commit()  # hold no transaction while the body streams in

    stored = _receive(session, store, pk, body, remaining)
    if stored is None:  # an empty body: nothing to record
        return _progress(_owned(session, user, upload_id, now))
    if checksum is not None and (
        body.disconnected or not hmac.compare_digest(checksum, bytes.fromhex(stored.sha256))
    ):
        # Part of a body cannot be checked against the whole body's checksum: keep nothing.
        _delete_blobs(store, [stored.blob_id])
        raise ChecksumMismatch(N_("The bytes received do not match their checksum."))

    end = start + stored.size
    single = stored if (start == 0 and end == length) else None
    advanced = session.execute(
        update(Upload)
        .where(Upload.id == pk, Upload.offset == start, Upload.state == UploadState.RECEIVING)
        .values(offset=end, expires_at=utcnow() + policy.lifetime)
        .execution_options(synchronize_session=False)
    )
    if advanced.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        _delete_blobs(store, [stored.blob_id])
        raise Conflict(N_("The upload offset does not match; ask for the current one."),
                       field="Upload-Offset")
    # Recorded even when it is the whole file: if this process dies before finishing,
    # the segments are what a later HEAD finishes the upload from.
    session.add(UploadSegment(upload_id=pk, offset=start, size=stored.size,
                              blob_id=stored.blob_id, key_id=stored.key_id,
                              sealed_key=stored.sealed_key))
    session.commit()
    if end == length:
        _finish(session, store, pk, single=single)
    session.expire_all()
    return _progress(_owned(session, user, upload_id, now))


def _receive(
    session: Session, store: BlobStore, pk: int, body: Body, remaining: int
) -> StoredBlob | None:
    """Stream the body into a new segment blob; None if no byte arrived."""
    try:
        with store.writer(max_size=remaining) as writer:
            writer.write_from(body)
            if writer.size == 0:
                return None
            return writer.commit()
    except BlobTooLarge as e:
        _discard(session, store, pk)
        raise PayloadTooLarge(N_("More bytes were sent than the upload declared.")) from e
    except StorageFull as e:
        raise ServiceUnavailable(N_("The server has no space left. Nothing was stored.")) from e


def _finish(session: Session, store: BlobStore, pk: int, *, single: StoredBlob | None) -> None:
    """Join the segments into the final blob and keep its sealed digest; safe to race/repeat."""
    upload = session.get(Upload, pk, populate_existing=True)
    if upload is None or upload.state is UploadState.FINISHED or not upload.complete:
        return
    segments = [(s.blob_id, s.key_id, s.sealed_key, s.size) for s in upload.segments]
    length = upload.length
    session.commit()
    # The whole file in one segment whose digest this process still holds: that segment is
    # the final blob, nothing is copied. Otherwise join the segments.
    adopted = single is not None and [blob_id for blob_id, *_ in segments] == [single.blob_id]
    final = single if single is not None and adopted else _join(store, segments, length)
    try:
        # Read back what is on disk before anything refers to it. The keyless check (the
        # stored bytes' SHA-256) finds a short or damaged write at a third of the cost of
        # decrypting; the plaintext digest came from the very buffers that were encrypted.
        store.verify_ciphertext(final)
        salt = secrets.token_bytes(custody.SALT_LEN)
        digest_key_id, sealed_digest = blobs.seal_digest(store.keys, final.blob_id,
                                                         final.sha256, salt)
    except StorageError as e:
        if not adopted:
            _delete_blobs(store, [final.blob_id])
        raise ServiceUnavailable(N_("The evidence store failed; nothing was stored.")) from e
    finished = session.execute(
        update(Upload)
        .where(Upload.id == pk, Upload.state == UploadState.RECEIVING)
        .values(state=UploadState.FINISHED, blob_id=final.blob_id, key_id=final.key_id,
                sealed_key=final.sealed_key, ciphertext_sha256=final.ciphertext_sha256,
                digest_key_id=digest_key_id, sealed_digest=sealed_digest)
        .execution_options(synchronize_session=False)
    )
    if finished.rowcount != 1:  # type: ignore[attr-defined]
        # Someone else finished it (or it was terminated) meanwhile: ours is surplus.
        session.rollback()
        if not adopted:
            _delete_blobs(store, [final.blob_id])
        return
    session.execute(delete(UploadSegment).where(UploadSegment.upload_id == pk))
    session.commit()
    # Only after the commit: until then the segments are what the upload consists of.
    _delete_blobs(store, [blob_id for blob_id, *_ in segments if blob_id != final.blob_id])


@dataclass(frozen=True)
class _SegmentRef:
    blob_id: str
    key_id: str
    sealed_key: bytes
    size: int


def _join(
    store: BlobStore, segments: list[tuple[str, str, bytes, int]], length: int
) -> StoredBlob:
    """Decrypt the segments in order straight into one new encrypted blob."""
    if sum(size for *_, size in segments) != length:
        raise Conflict(N_("The upload is incomplete."))
    try:
        with store.writer(max_size=length) as writer:
            for blob_id, key_id, sealed_key, size in segments:
                with store.open(_SegmentRef(blob_id, key_id, sealed_key, size)) as reader:
                    writer.write_from(reader)
            return writer.commit()
    except StorageFull as e:
        raise ServiceUnavailable(N_("The server has no space left. Nothing was stored.")) from e


def terminate(session: Session, store: BlobStore, user: User, upload_id: str) -> None:
    """DELETE: forget the caller's upload and remove its bytes."""
    upload = _owned(session, user, upload_id, utcnow())
    _discard(session, store, upload.id)


def _discard(session: Session, store: BlobStore, pk: int) -> None:
    """Delete an upload row, its segments and its unclaimed final blob (commits)."""
    upload = session.get(Upload, pk, populate_existing=True)
    if upload is None:
        return
    names = [s.blob_id for s in upload.segments]
    if upload.blob_id is not None:
        names.append(upload.blob_id)
    session.delete(upload)
    session.commit()
    _delete_blobs(store, names)


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


def _delete_blobs(store: BlobStore, names: list[str]) -> None:
    for name in names:
        try:
            store.delete(name)
        except StorageError as e:  # left for the orphan sweep; never fail the request
            log.warning("could not delete upload blob %s (%s)", name, type(e).__name__)
