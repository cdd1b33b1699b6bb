"""Reviewers reading evidence: previews, originals (with a safe download name), integrity checks.

Every read goes through `blobs.open_for_reading`, which commits a custody event first."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.database import unit_of_work
from incidents.core.errors import NotFound
from incidents.models import (
    BlobRecord,
    DerivativeKind,
    EvidenceItem,
    EvidenceKind,
    MediaDerivative,
    MediaProcessing,
    User,
)
from incidents.services import custody
from incidents.services.evidence import blobs, integrity
from incidents.services.review.actions import load_item
from storage.blob_reader import BlobReader
from storage.blobstore import BlobStore


@dataclass(frozen=True)
class Preview:
    reader: BlobReader
    mime: str
    size: int


def open_preview(session: Session, store: BlobStore, user: User, item_public_id: str,
                 kind: str) -> Preview:
    """A derivative (preview, thumbnail, poster, playable copy), decrypted; "viewed" event."""
    item = load_item(session, user, item_public_id)
    try:
        wanted = DerivativeKind(kind)
    except ValueError as e:
        raise NotFound() from e
    derivative = session.scalar(select(MediaDerivative).where(
        MediaDerivative.item_id == item.id, MediaDerivative.kind == wanted))
    if derivative is None:
        raise NotFound()
    record = session.get(BlobRecord, derivative.blob_id)
    size = record.size if record is not None else 0
    reader = blobs.open_for_reading(session, store, record, actor=user.public_id)
    return Preview(reader, derivative.mime, size)


def download_name(session: Session, item: EvidenceItem) -> str:
    """A server-made file name: the item id and an extension from the sniffed type."""
    processing = session.get(MediaProcessing, item.id)
    extension = None
    if item.kind is EvidenceKind.TESTIMONY:
        extension = ".txt"
    elif processing is not None and processing.sniffed_type:
        extension = mimetypes.guess_extension(processing.sniffed_type, strict=False)
    return f"evidence-{item.public_id}{extension or '.bin'}"


@dataclass(frozen=True)
class Original:
    reader: BlobReader
    filename: str
    size: int


def open_original(session: Session, store: BlobStore, user: User, item_public_id: str
                  ) -> Original:
    """The original bytes; a "downloaded" event naming the reviewer commits first."""
    item = load_item(session, user, item_public_id)
    name, size = download_name(session, item), item.size
    record = session.get(BlobRecord, item.blob_id)
    reader = blobs.open_for_reading(session, store, record, actor=user.public_id,
                                    action="downloaded")
    return Original(reader, name, size)


@dataclass(frozen=True)
class IntegrityResult:
    ok: bool
    problem: str | None
    event_seq: int


def check_integrity(session: Session, store: BlobStore, user: User, item_public_id: str
                    ) -> IntegrityResult:
    """Decrypt, re-hash, compare with the sealed digest and the "stored" commitment; the
    result is a custody event "integrity_checked"."""
    item = load_item(session, user, item_public_id)
    record = session.get(BlobRecord, item.blob_id)
    if record is None:
        raise NotFound()
    stored = [e for e in custody.events_for(session, record.subject) if e.action == "stored"]
    found = integrity.verify_blob(store, record, stored[0].commitment if stored else None)
    # A blob with no "stored" event cannot match any commitment: reported as a mismatch.
    problem = None if found is None else (
        "commitment_mismatch" if found.code == "no_commitment" else found.code)
    with unit_of_work(session):
        event = custody.append(session, actor=user.public_id, action="integrity_checked",
                               subject=f"evidence:{item.public_id}",
                               details={"blob": record.id, "ok": problem is None,
                                        "problem": problem})
        seq = event.seq
    return IntegrityResult(problem is None, problem, seq)


def chunks(reader: BlobReader, size: int = 256 * 1024) -> Iterator[bytes]:
    """Read a blob reader to the end in chunks, closing it afterwards."""
    with reader:
        while chunk := reader.read(size):
            yield chunk


def byte_range(reader: BlobReader, start: int, stop: int,
               size: int = 256 * 1024) -> Iterator[bytes]:
    """Bytes ``start`` up to ``stop`` (exclusive), closing the reader afterwards.

    STREAM chunks authenticate in order, so the bytes before ``start`` are decrypted and
    dropped: a seek costs reading the playable copy up to that point (a few MB at most).
    """
    with reader:
        position = 0
        while position < start:
            skipped = reader.read(min(size, start - position))
            if not skipped:
                return
            position += len(skipped)
        while position < stop:
            chunk = reader.read(min(size, stop - position))
            if not chunk:
                return
            position += len(chunk)
            yield chunk
