"""Resumable uploads (tus 1.0.0 core, creation, termination, expiration, checksum).

How the bytes are kept (never in plaintext, safe with many processes and restarts).
An upload made now is one appendable blob (``storage.appendable``, "stream" format):

- POST makes the blob: a data key sealed to the vault's public key, the STREAM header,
  and a random capability that seals the resume state; the upload URL is
  ``/api/v1/uploads/<public id><capability>``: the capability is never stored, so neither
  the database nor the instance folder can continue (or read) an upload in flight;
- a PATCH takes a short lease on the upload (two requests never append at once: the
  second is answered 423 until the first ends or has been quiet for ``LEASE``), then
  appends records and stores a checkpoint (offset and resume state, conditional on the
  lease) every ``CHECKPOINT_BYTES`` and wherever the body ends or the client goes away,
  so a SIGKILL loses at most that much of what arrived;
- the last byte writes the final record; the blob is made visible (a link, or S3's
  CompleteMultipartUpload) and its sealed digest recorded: nothing is decrypted or copied.
  A PATCH with ``Upload-Checksum`` is checkpointed only at its end, after the check.

Uploads created before migration 0011 ("segments") finish the old way:

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

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.database import begin_write
from incidents.core.errors import (
    N_,
    Busy,
    ByteCount,
    ChecksumMismatch,
    Conflict,
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
    UploadSegment,
    UploadState,
    User,
)
from incidents.models.uploads import FILENAME_MAX, FILETYPE_MAX
from incidents.services import custody
from incidents.services.evidence import blobs, sealed
from storage.appendable import Checkpoint
from storage.blob_writer import StoredBlob
from storage.blobstore import BlobStore
from storage.crypto.capability import new_capability
from storage.crypto.keys import reseal
from storage.errors import (
    BlobBusy,
    BlobNotFound,
    BlobTooLarge,
    SealedKeyError,
    StorageError,
    StorageFull,
    VaultSealed,
)

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = ("creation", "creation-with-upload", "termination", "expiration", "checksum")
CHECKSUM_ALGORITHMS = ("sha256",)
OPPORTUNISTIC_SWEEP = 5  # expired uploads removed whenever a new one is created
METADATA_MAX = 4096  # bytes of the Upload-Metadata header
METADATA_KEYS = {"filename": "filename", "name": "filename", "filetype": "filetype",
                 "type": "filetype"}
PUBLIC_ID_LEN = 32  # hex; an upload token is the public id, then (stream) the capability
# A PATCH whose writer has not checkpointed for this long (``UploadPolicy.lease``, 30 s by
# default) is presumed dead: its client vanished without a reset, or its process was
# killed. Writers checkpoint at least every CHECKPOINT_SECONDS while bytes arrive. On the
# local backend a lock on the file also keeps a stalled-but-alive writer's successor out.


@dataclass(frozen=True)
class UploadPolicy:
    """Limits from settings: the largest file and how long an unfinished upload lives."""

    max_bytes: int
    lifetime: timedelta
    lease: timedelta = timedelta(seconds=30)  # see LEASE


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


# --- client metadata ---------------------------------------------------------------------


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated ``key base64(value)`` pairs; keep the known keys."""
    if len(header) > METADATA_MAX:
        raise InvalidInput(N_("The upload metadata is too long."), field="Upload-Metadata")
    found: dict[str, str] = {}
    for pair in header.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        name = METADATA_KEYS.get(key.strip())
        if name is None:
            continue
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError) as e:
            raise InvalidInput(N_("The upload metadata is not valid."),
                               field="Upload-Metadata") from e
        text = raw.decode("utf-8", errors="replace")
        found[name] = clean_filename(text) if name == "filename" else clean_filetype(text)
    return found


def clean_filename(name: str) -> str:
    """A declared file name as display-only text: no path, no control or bidi characters."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control (NUL, CR/LF...); Cf: format (RTL override, zero-width); Cs: lone surrogates.
    name = "".join(c for c in name if unicodedata.category(c) not in {"Cc", "Cf", "Cs"})
    name = name.strip().strip(".")
    return name[:FILENAME_MAX]


def clean_filetype(value: str) -> str:
    """A declared media type as ``type/subtype`` in lower case, or empty; never trusted."""
    value = value.strip().lower().split(";", 1)[0].strip()
    kind, _, sub = value.partition("/")
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-")
    if not kind or not sub or not set(kind + sub) <= allowed:
        return ""
    return value[:FILETYPE_MAX]


def parse_checksum(header: str) -> bytes:
    """Upload-Checksum: ``sha256 <base64 digest>``; the digest bytes."""
    algorithm, _, value = header.strip().partition(" ")
    if algorithm.lower() not in CHECKSUM_ALGORITHMS:
        raise InvalidInput(N_("This checksum algorithm is not supported."),
                           field="Upload-Checksum")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidInput(N_("The checksum is not valid."), field="Upload-Checksum") from e
    if len(digest) != 32:
        raise InvalidInput(N_("The checksum is not valid."), field="Upload-Checksum")
    return digest


# --- lookup ------------------------------------------------------------------------------


def _split(token: str) -> tuple[str, str | None]:
    """An upload token: (public id, capability or None for a segment upload)."""
    return token[:PUBLIC_ID_LEN], token[PUBLIC_ID_LEN:] or None


def _owned(session: Session, user: User, upload_id: str, now: datetime) -> Upload:
    """The caller's own, unexpired upload; anything else looks like nothing at all."""
    public_id, capability = _split(upload_id)
    # populate_existing: offsets move by UPDATE statements, possibly in other processes.
    upload = session.scalars(select(Upload).where(Upload.public_id == public_id)
                             .execution_options(populate_existing=True)).first()
    if upload is None or upload.owner_id != user.id or upload.expires_at <= now:
        raise NotFound(N_("There is no such upload, or it has expired."))
    if upload.format == UploadFormat.STREAM and capability is None:
        raise NotFound(N_("There is no such upload, or it has expired."))
    return upload


def _progress(upload: Upload, token: str | None = None) -> Progress:
    return Progress(token or upload.public_id, upload.offset, upload.length, upload.expires_at,
                    upload.state is UploadState.FINISHED)


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


def _capability(token: str) -> str:
    capability = _split(token)[1]
    if capability is None:
        raise NotFound(N_("There is no such upload, or it has expired."))
    return capability


# --- creation ----------------------------------------------------------------------------


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


# --- the declared name, sealed -----------------------------------------------------------


@dataclass(frozen=True)
class PendingName:
    """An upload's declared file name, written as a sealed blob (JSON {"text": name}) when
    the upload is created, with everything its blob record and "stored" event will need:
    only ciphertext, key ids and the salted commitment (its plaintext SHA-256 and salt are
    sealed to the vault key, as in a blob record), so claiming needs no vault private key.
    Not evidence yet: it gets its record when a submission claims the upload."""

    blob_id: str
    size: int
    ciphertext_sha256: str
    key_id: str
    sealed_key: bytes
    digest_key_id: str
    sealed_digest: bytes
    commitment: str

    def as_json(self) -> dict[str, Any]:
        return {"blob_id": self.blob_id, "size": self.size,
                "ciphertext_sha256": self.ciphertext_sha256, "key_id": self.key_id,
                "sealed_key": base64.b64encode(self.sealed_key).decode("ascii"),
                "digest_key_id": self.digest_key_id,
                "sealed_digest": base64.b64encode(self.sealed_digest).decode("ascii"),
                "commitment": self.commitment}

    @classmethod
    def of(cls, value: dict[str, Any]) -> PendingName:
        return cls(blob_id=value["blob_id"], size=int(value["size"]),
                   ciphertext_sha256=value["ciphertext_sha256"], key_id=value["key_id"],
                   sealed_key=base64.b64decode(value["sealed_key"]),
                   digest_key_id=value["digest_key_id"],
                   sealed_digest=base64.b64decode(value["sealed_digest"]),
                   commitment=value["commitment"])

    def record(self) -> BlobRecord:
        return BlobRecord(id=self.blob_id, size=self.size,
                          ciphertext_sha256=self.ciphertext_sha256, key_id=self.key_id,
                          sealed_key=self.sealed_key, digest_key_id=self.digest_key_id,
                          sealed_digest=self.sealed_digest, status=BlobStatus.ACTIVE)


def seal_pending_name(store: BlobStore, name: str) -> PendingName | None:
    """Write a declared name as a sealed blob (public key only); None for no name."""
    if not name:
        return None
    data = json.dumps({sealed.TEXT: name}, ensure_ascii=False, sort_keys=True).encode("utf-8")
    try:
        stored = store.put([data], max_size=sealed.MAX_SEALED_BYTES)
    except StorageFull as e:
        raise ServiceUnavailable(N_("The server has no space left. Nothing was stored.")) from e
    except StorageError as e:
        raise ServiceUnavailable(N_("The evidence store failed; nothing was stored.")) from e
    salt = secrets.token_bytes(custody.SALT_LEN)
    try:
        digest_key_id, sealed_digest = blobs.seal_digest(store.keys, stored.blob_id,
                                                         stored.sha256, salt)
    except StorageError as e:
        _delete_blobs(store, [stored.blob_id])
        raise ServiceUnavailable(N_("The vault key is not available; nothing was "
                                    "stored.")) from e
    return PendingName(blob_id=stored.blob_id, size=stored.size,
                       ciphertext_sha256=stored.ciphertext_sha256, key_id=stored.key_id,
                       sealed_key=stored.sealed_key, digest_key_id=digest_key_id,
                       sealed_digest=sealed_digest,
                       commitment=custody.commitment(stored.sha256, salt))


# --- receiving ---------------------------------------------------------------------------


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

    def store_checkpoint(cp: Checkpoint) -> None:
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
                    expires_at=utcnow() + policy.lifetime)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()  # taken over, terminated or expired meanwhile
            raise Conflict(N_("The upload offset does not match; ask for the current one."),
                           field="Upload-Offset")
        session.commit()

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
                writer.write_from(body, store_checkpoint)
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


# --- finishing ---------------------------------------------------------------------------


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


# --- termination, expiry, claiming -------------------------------------------------------


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
    unfinished = None
    if (upload.format == UploadFormat.STREAM and upload.blob_id is not None
            and upload.backend_state is not None):
        unfinished = (upload.blob_id, upload.backend_state)
    if upload.blob_id is not None:
        names.append(upload.blob_id)  # visible if a finish got that far
    if upload.pending_name is not None:
        names.append(PendingName.of(upload.pending_name).blob_id)
    session.delete(upload)
    session.commit()
    if unfinished is not None:
        try:
            store.discard_appendable(*unfinished)
        except StorageError as e:
            log.warning("could not remove the bytes of upload blob %s (%s)", unfinished[0],
                        type(e).__name__)
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


def _delete_blobs(store: BlobStore, names: list[str]) -> None:
    for name in names:
        try:
            store.delete(name)
        except StorageError as e:  # left for the orphan sweep; never fail the request
            log.warning("could not delete upload blob %s (%s)", name, type(e).__name__)
