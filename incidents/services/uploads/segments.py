"""Uploads created before migration 0011 ("segments"): each PATCH body its own encrypted
segment blob, joined into the final blob when the last byte arrives."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from incidents.core.errors import (
    N_,
    Conflict,
    PayloadTooLarge,
    ServiceUnavailable,
)
from incidents.models import (
    Upload,
    UploadSegment,
    UploadState,
)
from incidents.services import custody
from incidents.services.evidence import blobs
from incidents.services.uploads.common import (
    _delete_blobs,
    _discard,
)
from incidents.services.uploads.protocol import (
    Body,
)
from storage.blob_writer import StoredBlob
from storage.blobstore import BlobStore
from storage.errors import (
    BlobTooLarge,
    StorageError,
    StorageFull,
)

log = logging.getLogger(__name__)


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
                digest_key_id=digest_key_id, sealed_digest=sealed_digest,
                commitment=custody.commitment(final.sha256, salt))
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
