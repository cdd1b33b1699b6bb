"""Receiving: PATCH under a lease, appending and checkpointing as the bytes arrive, the
finish that makes the blob visible; HEAD, which finishes what a crash left complete."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.database import begin_write
from incidents.core.errors import (
    N_,
    Busy,
    ChecksumMismatch,
    Conflict,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from incidents.models import (
    Upload,
    UploadFormat,
    UploadSegment,
    UploadState,
    User,
)
from incidents.services import custody
from incidents.services.evidence import blobs
from incidents.services.uploads.common import (
    _capability,
    _delete_blobs,
    _discard,
    _owned,
    _progress,
)
from incidents.services.uploads.protocol import (
    Body,
    Progress,
    UploadPolicy,
)
from incidents.services.uploads.segments import (
    _finish,
    _receive,
)
from storage.appendable import Checkpoint
from storage.blobstore import BlobStore
from storage.errors import (
    BlobBusy,
    BlobNotFound,
    BlobTooLarge,
    SealedKeyError,
    StorageError,
    StorageFull,
)

log = logging.getLogger(__name__)


def get_progress(session: Session, store: BlobStore, user: User, upload_id: str) -> Progress:
    """HEAD: how many bytes of the caller's upload are stored.

    An upload whose every byte arrived but that was not finished (the process finishing it
    died) is finished now, so that an offset equal to the length always means "done".
    """
    upload = _owned(session, user, upload_id, utcnow())
    if upload.complete and upload.state is UploadState.RECEIVING:
        if upload.format == UploadFormat.STREAM:
            _finish_stream(session, store, upload.id, _capability(upload_id))
        else:
            _finish(session, store, upload.id, single=None)
        upload = _owned(session, user, upload_id, utcnow())
    return _progress(upload, upload_id)


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
    if upload.format == UploadFormat.STREAM:
        return _append_stream(session, store, user, policy, upload_id, upload, body=body,
                              content_length=content_length, checksum=checksum)
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


class _Checked:
    """A body whose bytes are also hashed, for Upload-Checksum."""

    def __init__(self, body: Body) -> None:
        self._body = body
        self.digest = hashlib.sha256()

    def readinto(self, buffer: memoryview) -> int:
        n = self._body.readinto(buffer)
        self.digest.update(buffer[:n])
        return n


def _append_stream(
    session: Session,
    store: BlobStore,
    user: User,
    policy: UploadPolicy,
    token: str,
    upload: Upload,
    *,
    body: Body,
    content_length: int | None,
    checksum: bytes | None,
) -> Progress:
    """PATCH of a stream upload: append under a lease, checkpointing as the bytes arrive."""
    pk, start, length = upload.id, upload.offset, upload.length
    capability = _capability(token)
    if content_length is not None and content_length > length - start:
        _discard(session, store, pk)
        raise PayloadTooLarge(N_("More bytes were sent than the upload declared."))
    me = secrets.token_hex(16)
    now = utcnow()
    begin_write(session)  # SQLite: the read above must not make this write stale
    taken = session.execute(
        update(Upload)
        .where(Upload.id == pk, Upload.offset == start, Upload.state == UploadState.RECEIVING,
               (Upload.writer.is_(None)) | (Upload.writer_seen < now - policy.lease))
        .values(writer=me, writer_seen=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        current = _owned(session, user, token, now)
        if current.offset != start or current.state is UploadState.FINISHED:
            raise Conflict(N_("The upload offset does not match; ask for the current one."),
                           field="Upload-Offset")
        raise Busy(N_("This upload is receiving bytes in another request; "
                      "try again in a moment."))
    sealed_state, backend_state = upload.sealed_state, upload.backend_state
    session.commit()  # hold no transaction while the body streams in
    assert upload.blob_id is not None
    assert sealed_state is not None
    assert backend_state is not None
    checked = _Checked(body) if checksum is not None else None
    released = False

    def store_checkpoint(cp: Checkpoint) -> None:
        nonlocal released
        if checked is not None and (body.disconnected or not hmac.compare_digest(
                checksum or b"", checked.digest.digest())):
            # Part of a body cannot be checked against the whole body's checksum.
            raise ChecksumMismatch(N_("The bytes received do not match their checksum."))
        begin_write(session)
        moved = session.execute(
            update(Upload)
            .where(Upload.id == pk, Upload.writer == me, Upload.state == UploadState.RECEIVING)
            .values(offset=cp.size, sealed_state=cp.sealed_state,
                    backend_state=cp.backend_state, writer_seen=utcnow(),
                    expires_at=utcnow() + policy.lifetime,
                    # The body's last checkpoint lets go of the lease in the same commit
                    # (the file lock still keeps out another writer until this one closes).
                    writer=None if cp.last else me)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()  # taken over, terminated or expired meanwhile
            raise Conflict(N_("The upload offset does not match; ask for the current one."),
                           field="Upload-Offset")
        session.commit()
        released = cp.last

    final = False
    try:
        try:
            writer = store.resume_appendable(upload.blob_id, length=length,
                                             capability=capability, sealed_state=sealed_state,
                                             backend_state=backend_state)
        except SealedKeyError as e:  # a forged or mistyped capability
            raise NotFound(N_("There is no such upload, or it has expired.")) from e
        except BlobBusy as e:  # a writer whose lease ran out is still alive
            raise Busy(N_("This upload is receiving bytes in another request; "
                          "try again in a moment.")) from e
        try:
            if checked is not None:  # all or nothing: one checkpoint, after the check
                writer.write_from(checked, store_checkpoint, checkpoint_bytes=1 << 62,
                                  checkpoint_seconds=float("inf"))
            else:
                writer.write_from(body, store_checkpoint, expect=content_length)
            final = writer.final
        finally:
            writer.close()
    except BlobTooLarge as e:
        _discard(session, store, pk)
        raise PayloadTooLarge(N_("More bytes were sent than the upload declared.")) from e
    except StorageFull as e:
        raise ServiceUnavailable(N_("The server has no space left. Nothing was stored.")) from e
    except BlobNotFound as e:
        log.warning("the stored bytes of upload %d are gone; discarding it", pk)
        _discard(session, store, pk)
        raise NotFound(N_("There is no such upload, or it has expired.")) from e
    except StorageError as e:
        raise ServiceUnavailable(N_("The evidence store failed; nothing was stored.")) from e
    finally:
        session.rollback()
        if not released:
            begin_write(session)
            session.execute(update(Upload).where(Upload.id == pk, Upload.writer == me)
                            .values(writer=None).execution_options(synchronize_session=False))
            session.commit()
    if final:
        _finish_stream(session, store, pk, capability)
    session.expire_all()
    return _progress(_owned(session, user, token, utcnow()), token)


def _finish_stream(session: Session, store: BlobStore, pk: int, capability: str) -> None:
    """Make a stream upload's blob visible and keep its sealed digest; safe to race/repeat."""
    upload = session.get(Upload, pk, populate_existing=True)
    if upload is None or upload.state is UploadState.FINISHED or not upload.complete:
        return
    blob_id, key_id, sealed_key = upload.blob_id, upload.key_id, upload.sealed_key
    sealed_state, backend_state = upload.sealed_state, upload.backend_state
    assert blob_id is not None
    assert key_id is not None
    assert sealed_key is not None
    assert sealed_state is not None
    assert backend_state is not None
    session.commit()
    try:
        writer = store.resume_appendable(blob_id, length=upload.length, capability=capability,
                                         sealed_state=sealed_state, backend_state=backend_state)
    except SealedKeyError as e:
        raise NotFound(N_("There is no such upload, or it has expired.")) from e
    except BlobBusy as e:  # the request that wrote the last byte is finishing it right now
        raise Busy(N_("This upload is receiving bytes in another request; "
                      "try again in a moment.")) from e
    except StorageError as e:
        raise ServiceUnavailable(N_("The evidence store failed; nothing was stored.")) from e
    try:
        # No read-back: the hashes came from the very buffers that were encrypted and
        # written, and the backend checks what it holds before the blob becomes visible
        # (the file's length; S3 checks each part's ETag at CompleteMultipartUpload).
        # `custody verify --blobs` re-reads everything later.
        final = writer.finish(key_id=key_id, sealed_key=sealed_key)
        salt = secrets.token_bytes(custody.SALT_LEN)
        digest_key_id, sealed_digest = blobs.seal_digest(store.keys, final.blob_id,
                                                         final.sha256, salt)
    except StorageError as e:
        raise ServiceUnavailable(N_("The evidence store failed; nothing was stored.")) from e
    finally:
        writer.close()
    begin_write(session)
    session.execute(
        update(Upload)
        .where(Upload.id == pk, Upload.state == UploadState.RECEIVING)
        # The capability-sealed copy of the data key goes: from now on only the vault's
        # private key opens this blob, as for every other piece of evidence.
        .values(state=UploadState.FINISHED, ciphertext_sha256=final.ciphertext_sha256,
                digest_key_id=digest_key_id, sealed_digest=sealed_digest, sealed_state=None,
                backend_state=None, writer=None,
                commitment=custody.commitment(final.sha256, salt))
        .execution_options(synchronize_session=False)
    )
    session.commit()


def in_flight_blob_ids(session: Session) -> set[str]:
    """Blob ids of stream uploads still receiving (their temporary objects must stay)."""
    ids = session.scalars(select(Upload.blob_id).where(
        Upload.format == UploadFormat.STREAM.value, Upload.state == UploadState.RECEIVING,
        Upload.blob_id.is_not(None))).all()
    session.commit()
    return {blob_id for blob_id in ids if blob_id is not None}
