"""What every step of an upload shares: finding the caller's upload by its token, its
progress, its sealed declared name, and removing its row and bytes."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from incidents.core.errors import (
    N_,
    NotFound,
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
from incidents.services.evidence import blobs, sealed
from incidents.services.uploads.protocol import (
    PUBLIC_ID_LEN,
    Progress,
)
from storage.blobstore import BlobStore
from storage.errors import (
    StorageError,
    StorageFull,
)

log = logging.getLogger(__name__)


def _split(token: str) -> tuple[str, str | None]:
    """An upload token: (public id, capability or None for a segment upload)."""
    return token[:PUBLIC_ID_LEN], token[PUBLIC_ID_LEN:] or None


def _owned(session: Session, user: User, upload_id: str, now: datetime) -> Upload:
    """The caller's own, unexpired upload; anything else looks like nothing at all."""
    public_id, capability = _split(upload_id)
    # populate_existing: offsets move by UPDATE statements, possibly in other processes.
    upload = session.scalars(select(Upload).where(Upload.public_id == public_id)
                             .execution_options(populate_existing=True)).first()
    # The user's key from the identity map: `user.id` would reload the row after a commit.
    if upload is None or (upload.owner_id,) != inspect(user).identity or upload.expires_at <= now:
        raise NotFound(N_("There is no such upload, or it has expired."))
    if upload.format == UploadFormat.STREAM and capability is None:
        raise NotFound(N_("There is no such upload, or it has expired."))
    return upload


def _progress(upload: Upload, token: str | None = None) -> Progress:
    return Progress(token or upload.public_id, upload.offset, upload.length, upload.expires_at,
                    upload.state is UploadState.FINISHED)


def _capability(token: str) -> str:
    capability = _split(token)[1]
    if capability is None:
        raise NotFound(N_("There is no such upload, or it has expired."))
    return capability


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


def _delete_blobs(store: BlobStore, names: list[str]) -> None:
    for name in names:
        try:
            store.delete(name)
        except StorageError as e:  # left for the orphan sweep; never fail the request
            log.warning("could not delete upload blob %s (%s)", name, type(e).__name__)
