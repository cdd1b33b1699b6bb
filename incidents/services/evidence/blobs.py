"""Evidence bytes as a unit of work: store, record, open, remove, re-seal (DESIGN §3, §4).

A blob is written and verified before its row and custody event are added to the
caller's transaction. If that transaction does not commit (an exception, a rollback, a
session closed without commit), the blob is deleted again: a row never points at a
missing blob, and a failed request leaves no blob behind. Reading commits a custody
event before the first plaintext byte is returned; if it cannot be written, nothing is.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from incidents.core import database
from incidents.core.clock import utcnow
from incidents.core.database import begin_write
from incidents.core.errors import (
    N_,
    Forbidden,
    InvalidInput,
    LedgerUnavailable,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    VaultIsSealed,
)
from incidents.models import BlobRecord, BlobStatus, Role, User
from incidents.services import custody
from storage.blobstore import BlobReader, BlobRef, BlobStore, StoredBlob
from storage.crypto.keys import KeyProvider, reseal
from storage.errors import (
    BlobNotFound,
    BlobTooLarge,
    KeyStoreError,
    StorageError,
    StorageFull,
    VaultSealed,
)

log = logging.getLogger(__name__)

READ_ACTIONS = frozenset({"viewed", "downloaded"})
DIGEST_SUFFIX = "/digest"
_PENDING = "incidents.blobs.pending"  # written in this transaction: delete unless committed
_DOOMED = "incidents.blobs.doomed"  # removed in this transaction: delete once committed


@dataclass(frozen=True)
class Ingested:
    """What `ingest` stored. `sha256` and `salt` are secret: give them to the witness only."""

    record: BlobRecord
    sha256: str
    salt: bytes
    commitment: str
    size: int
    event: Any  # the "stored" CustodyEvent

    def __repr__(self) -> str:
        return f"Ingested(blob={self.record.id}, size={self.size})"


@dataclass(frozen=True)
class RecordedView:
    """A blob row with its unsealed plaintext SHA-256, as `BlobStore.verify` wants it."""

    blob_id: str
    key_id: str
    sealed_key: bytes
    size: int
    sha256: str
    ciphertext_sha256: str


# --- cleanup tied to the transaction -------------------------------------------------------


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_PENDING, None)
    for store, blob_id in session.info.pop(_DOOMED, []):
        _delete_quietly(store, blob_id, "removed")


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(_DOOMED, None)
    for store, blob_id in session.info.pop(_PENDING, []):
        _delete_quietly(store, blob_id, "abandoned")


def _delete_quietly(store: BlobStore, blob_id: str, why: str) -> None:
    try:
        store.delete(blob_id)
        log.info("blob %s deleted (%s)", blob_id, why)
    except StorageError as e:
        log.error("blob %s (%s) could not be deleted: %s", blob_id, why, type(e).__name__)


# The unit of work lives in incidents.core.database; this name stays for existing callers.
unit_of_work = database.unit_of_work


def count_by_key(session: Session) -> dict[str, int]:
    """How many blobs each vault key seals (`keys status`)."""
    rows = session.execute(
        select(BlobRecord.key_id, func.count()).group_by(BlobRecord.key_id)).all()
    return {key_id: count for key_id, count in rows}


# --- sealed digest -----------------------------------------------------------------------


def digest_context(blob_id: str) -> str:
    """HPKE binding for a blob's sealed digest; never a valid blob id, so never confused."""
    return blob_id + DIGEST_SUFFIX


def seal_digest(keys: KeyProvider, blob_id: str, sha256: str, salt: bytes) -> tuple[str, bytes]:
    """Seal SHA-256 ‖ salt (64 bytes) to the active vault key (docs/formats.md)."""
    return keys.seal_data_key(bytes.fromhex(sha256) + salt, digest_context(blob_id))


def unseal_digest(keys: KeyProvider, record: BlobRecord) -> tuple[str, bytes]:
    """The plaintext SHA-256 (hex) and commitment salt of a blob; needs the vault key."""
    plain = keys.unseal_data_key(record.digest_key_id, record.sealed_digest,
                                 digest_context(record.id))
    if len(plain) != 32 + custody.SALT_LEN:
        raise KeyStoreError(f"blob {record.id}: sealed digest has the wrong length")
    return plain[:32].hex(), plain[32:]


# --- ingest ------------------------------------------------------------------------------


def ingest(
    session: Session,
    store: BlobStore,
    stream: BinaryIO | Iterable[bytes],
    *,
    actor: str | None,
    subject: str,
    max_size: int,
) -> Ingested:
    """Store `stream` as a new blob and add its row and "stored" event to the transaction.

    `subject` names what the blob belongs to (e.g. "submission:<id>"); it goes into the
    event details. The caller commits (`incidents.core.database.unit_of_work`); if it does not,
    the blob goes.
    """
    custody._check_field(subject, "subject", 128)
    try:
        stored = store.put(stream, max_size=max_size)
    except BlobTooLarge as e:
        raise PayloadTooLarge(N_("The file is larger than the limit.")) from e
    except StorageFull as e:
        raise ServiceUnavailable(N_("The evidence store is full; nothing was stored.")) from e
    except KeyStoreError as e:
        raise ServiceUnavailable(N_("The vault key is not available; nothing was stored.")) from e
    except StorageError as e:
        raise ServiceUnavailable(N_("The evidence store failed; nothing was stored.")) from e
    try:
        begin_write(session)
        adopt(session, store, stored.blob_id)
    except BaseException:
        _delete_quietly(store, stored.blob_id, "abandoned")
        raise
    return record_stored(session, store, stored, actor=actor, subject=subject)


def adopt(session: Session, store: BlobStore, blob_id: str) -> None:
    """Tie a blob already written to `store` (e.g. by a streaming form parser) to the
    session's transaction: it is deleted unless the transaction commits.

    Call inside the write transaction (after `begin_write`), as soon as the blob exists.
    """
    session.info.setdefault(_PENDING, []).append((store, blob_id))


def record_stored(session: Session, store: BlobStore, stored: StoredBlob, *,
                  actor: str | None, subject: str) -> Ingested:
    """Add the row and "stored" event of a blob already written (`BlobWriter.commit`) to
    the caller's transaction, as `ingest` does after its own write.

    The blob must have been `adopt`ed first, so a rollback deletes it. It must still be in
    the store (see `_check_written`). Raises
    LedgerUnavailable or ServiceUnavailable; the caller rolls back.
    """
    custody._check_field(subject, "subject", 128)
    try:
        return _record(session, store, stored, actor=actor, subject=subject)
    except SQLAlchemyError as e:
        raise LedgerUnavailable(N_("The custody ledger could not be written; nothing was "
                                   "stored.")) from e
    except StorageError as e:
        raise ServiceUnavailable(N_("The evidence store failed; nothing was stored.")) from e


def _check_written(store: BlobStore, stored: StoredBlob) -> None:
    """The blob is still in the store under its name, before a row refers to it.

    Not a read-back: the writer hashed the plaintext and the ciphertext from the very buffers
    it encrypted and handed to the backend, and the backend checked what it holds before
    the blob became visible (local: fsynced, then its length on disk against the bytes
    written; S3: every part's checksum, at upload and at CompleteMultipartUpload), as for
    an upload's appendable blob (`uploads.receive._finish_stream`). What can still happen
    between the write and this row is a long request whose first file was swept into
    quarantine as an orphan (docs/custody.md): it fails closed here. Reading every byte
    again cost ~40 % of a large form POST; the full check with the key, of every blob, is
    `flask custody verify --blobs`.
    """
    if not store.exists(stored.blob_id):
        raise BlobNotFound(f"blob {stored.blob_id} is no longer in the store")


def _record(session: Session, store: BlobStore, stored: StoredBlob, *, actor: str | None,
            subject: str) -> Ingested:
    _check_written(store, stored)  # before anything refers to it
    salt = secrets.token_bytes(custody.SALT_LEN)
    commitment = custody.commitment(stored.sha256, salt)
    event_ = custody.append(session, actor=actor, action="stored",
                            subject=f"blob:{stored.blob_id}", commitment=commitment,
                            details={"size": stored.size, "part_of": subject})
    key_id, sealed_key = stored.key_id, stored.sealed_key
    digest_key_id, sealed_digest = seal_digest(store.keys, stored.blob_id, stored.sha256, salt)
    # Under the ledger lock: if the vault key was rotated (maybe by another process) since
    # this blob was sealed, re-seal now, so the old key can be retired safely.
    # The provider follows the key directory, which changes before the head does, so its
    # active key is the head's or a newer one (a rotation still waiting for the lock).
    required = custody.head(session)
    fresh = {required.active_key_id, store.keys.active_key_id()} if required else set()
    if required is not None and required.active_key_id is not None:
        if key_id not in fresh:
            key_id, sealed_key = _reseal_fresh(store.keys, key_id, sealed_key, stored.blob_id)
        if digest_key_id not in fresh:
            digest_key_id, sealed_digest = _reseal_fresh(
                store.keys, digest_key_id, sealed_digest, digest_context(stored.blob_id))
    record = BlobRecord(id=stored.blob_id, size=stored.size,
                        ciphertext_sha256=stored.ciphertext_sha256, key_id=key_id,
                        sealed_key=sealed_key, digest_key_id=digest_key_id,
                        sealed_digest=sealed_digest, status=BlobStatus.ACTIVE)
    session.add(record)
    session.flush()
    return Ingested(record=record, sha256=stored.sha256, salt=salt, commitment=commitment,
                    size=stored.size, event=event_)


def _reseal_fresh(keys: KeyProvider, key_id: str, sealed: bytes, context: str) -> tuple[str, bytes]:
    try:
        new_key_id, new_sealed = reseal(keys, key_id, sealed, context)
    except VaultSealed:
        # Sealed after a rotation began: keep the old key id; `keys_in_use` then stops that
        # key from being retired until a later rotation re-seals this record.
        return key_id, sealed
    if new_key_id == key_id:  # the provider did not pick up the rotation: fail closed
        raise ServiceUnavailable(N_("The vault key was rotated; this server must reload it."))
    return new_key_id, new_sealed


# --- reading -----------------------------------------------------------------------------


def open_for_reading(
    session: Session,
    store: BlobStore,
    record: BlobRecord | None,
    *,
    actor: str | None,
    action: str = "viewed",
) -> BlobReader:
    """Commit a "viewed"/"downloaded" event, then open the blob (fail closed).

    Commits the session. If the event cannot be written (read-only database, disk full),
    raises LedgerUnavailable and no byte of plaintext is produced.
    """
    if action not in READ_ACTIONS:
        raise InvalidInput(N_("Invalid access action."), field="action")
    if record is None or record.status != BlobStatus.ACTIVE:
        raise NotFound()
    blob_id = record.id
    ref = BlobRef(blob_id=blob_id, key_id=record.key_id, sealed_key=record.sealed_key)
    # The data key first (it needs the unsealed vault), then the event, then plaintext: a
    # sealed vault records no access that did not happen, and nothing leaves unrecorded.
    try:
        reader = store.open(ref)
    except VaultSealed as e:
        session.rollback()
        raise VaultIsSealed() from e
    except BlobNotFound as e:
        session.rollback()
        log.error("blob %s is missing from the store", blob_id)
        raise ServiceUnavailable(N_("The evidence file is missing.")) from e
    except StorageError as e:
        session.rollback()
        log.error("blob %s could not be opened: %s", blob_id, type(e).__name__)
        raise ServiceUnavailable(N_("The evidence file could not be opened.")) from e
    try:
        begin_write(session)
        custody.append(session, actor=actor, action=action, subject=f"blob:{blob_id}")
        session.commit()
    except SQLAlchemyError as e:
        session.rollback()
        reader.close()
        log.error("access to blob %s refused: ledger not writable (%s)", blob_id,
                  type(e).__name__)
        raise LedgerUnavailable(N_("The custody ledger cannot be written, so the evidence "
                                   "cannot be opened.")) from e
    return reader


# --- removal -----------------------------------------------------------------------------


def remove(session: Session, store: BlobStore, record: BlobRecord, *, actor: User,
           reason: str) -> None:
    """Remove evidence (admins only), as a custody event with a reason, in the caller's
    transaction; the stored bytes are deleted once that commits."""
    if actor.role != Role.ADMIN:
        raise Forbidden()
    reason = reason.strip()
    if not reason or len(reason) > 2000:
        raise InvalidInput(N_("Give a reason (at most 2000 characters)."), field="reason")
    if record.status != BlobStatus.ACTIVE:
        raise NotFound()
    begin_write(session)
    custody.append(session, actor=actor.public_id, action="removed",
                   subject=f"blob:{record.id}", details={"reason": reason})
    record.status = BlobStatus.REMOVED
    record.removed_at = utcnow()
    record.removed_reason = reason
    session.flush()
    session.info.setdefault(_DOOMED, []).append((store, record.id))


def phash_context(item_pk: int) -> str:
    """HPKE binding of a sealed pHash to its evidence item (as incidents.services.media.process
    seals it; kept here too because media imports this module)."""
    return f"media-phash/{item_pk}"
