"""Processing one evidence item: sniff, extract metadata, derive working copies, hash.

Two phases. Reading: the original is opened through `blobs.open_for_reading` (each pass a
committed "viewed" custody event), and everything is computed in memory — flags, the
metadata document, small derivatives, the perceptual hash. Writing: one unit of work
stores the metadata and each derivative through `blobs.ingest` with a "metadata_extracted"
or "derivative_made" event naming the source item and the method, records the flags, and
ends with a "processed" event. The original is never written to. A file that cannot be
parsed is flagged, not lost; only unexpected errors mark the row "failed" (and re-raise).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import av
import exifread
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.database import begin_write, unit_of_work
from incidents.core.errors import VaultIsSealed
from incidents.models import (
    BlobRecord,
    DerivativeKind,
    EvidenceItem,
    MediaDerivative,
    MediaFlag,
    MediaFlagRecord,
    MediaPhash,
    MediaProcessing,
    ProcessingStatus,
)
from incidents.services import custody
from incidents.services.evidence import blobs, sealed
from incidents.services.media import phash as phashes
from incidents.services.media import video
from incidents.services.media.damage import jpeg_damage
from incidents.services.media.exif import extract_exif
from incidents.services.media.items import find_item
from incidents.services.media.previews import PILLOW, image_derivatives
from incidents.services.media.results import Derivative, MediaFlagged
from incidents.services.media.sniff import (
    HEAD_BYTES,
    POLYGLOT_SCAN_BYTES,
    MediaKind,
    Sniffed,
    declared_mismatch,
    has_markup,
    sniff,
)
from incidents.services.media.source import SeekableBlob, as_binary
from storage.blobstore import BlobStore

log = logging.getLogger(__name__)

WAITING_FOR_VAULT = "waiting_for_vault"  # MediaProcessing.error while the vault is sealed

# Derivatives and metadata documents are small; this only guards against a runaway encoder.
DERIVATIVE_MAX_BYTES = 256 * 1024 * 1024
# A JPEG is checked for structural damage when it is at most this big (read whole).
JPEG_CHECK_MAX_BYTES = 64 * 1024 * 1024
EXIF_TIMEOUT = 10.0
METADATA_FORMAT = "incidents-media-metadata/v1"
EXIF_METHOD = f"exifread {exifread.__version__}"
AV_METHOD = f"PyAV {av.__version__}"


@dataclass
class Analysis:
    """Everything the reading phase found; nothing here is written until the second phase."""

    sniffed: Sniffed
    flags: dict[MediaFlag, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)
    derivatives: list[Derivative] = field(default_factory=list)
    phash: int | None = None
    phash_source: str = ""

    def flag(self, flag: MediaFlag, reason: str) -> None:
        self.flags.setdefault(flag, reason[:120])


def process_item(session: Session, store: BlobStore, item_id: int | str) -> MediaProcessing:
    """Process one evidence item (idempotent: a finished item is left as it is)."""
    item = find_item(session, item_id)
    row = session.get(MediaProcessing, item.id)
    if row is not None and row.status is ProcessingStatus.DONE:
        session.rollback()
        return row
    row = _mark_running(session, item)
    record = session.get(BlobRecord, item.blob_id)
    try:
        analysis = analyse(session, store, item, record)
        _record(session, store, item, row, analysis)
    except VaultIsSealed:
        # Not a failure: the original is safe and unread; it runs again after the unseal
        # (services.vault.waiting_items). The review page says it is waiting.
        session.rollback()
        _mark_waiting(session, item.id)
        log.info("processing of evidence item %s waits for the vault", item.id)
        return row
    except Exception as e:
        session.rollback()
        _mark_failed(session, item.id, type(e).__name__)
        log.exception("processing of evidence item %s failed: %s", item.id, type(e).__name__)
        raise
    return row


def _mark_running(session: Session, item: EvidenceItem) -> MediaProcessing:
    begin_write(session)
    row = session.get(MediaProcessing, item.id)
    if row is None:
        row = MediaProcessing(item_id=item.id, attempts=0)
        session.add(row)
    row.status = ProcessingStatus.RUNNING
    row.attempts = (row.attempts or 0) + 1
    row.started_at = utcnow()
    row.error = None
    session.commit()
    return row


def _mark_waiting(session: Session, item_pk: int) -> None:
    begin_write(session)
    row = session.get(MediaProcessing, item_pk)
    if row is not None:
        row.status = ProcessingStatus.PENDING
        row.error = WAITING_FOR_VAULT
        row.started_at = None
    session.commit()


def _mark_failed(session: Session, item_pk: int, error: str) -> None:
    begin_write(session)
    row = session.get(MediaProcessing, item_pk)
    if row is not None:
        row.status = ProcessingStatus.FAILED
        row.error = error[:120]
        row.finished_at = utcnow()
    session.commit()


# --- reading phase -----------------------------------------------------------------------


def analyse(session: Session, store: BlobStore, item: EvidenceItem,
            record: BlobRecord | None) -> Analysis:
    """Read the original (through custody-logged opens) and work out everything to store."""
    def opener() -> Any:
        return blobs.open_for_reading(session, store, record, actor=None, action="viewed")

    size = record.size if record is not None else 0
    # The declared name (sealed) only for its extension; a "viewed" event like the original's.
    name = sealed.Texts(sealed.read_many(session, store, [item.name_blob_id], actor=None)
                        ).get(item.name_blob_id)
    with SeekableBlob(opener, size) as source:
        head = source.read(HEAD_BYTES)
        analysis = Analysis(sniff(head))
        if size == 0:
            analysis.flag(MediaFlag.EMPTY, "zero bytes")
        if declared_mismatch(analysis.sniffed, item.declared_type, name):
            analysis.flag(MediaFlag.TYPE_MISMATCH, "declared type or extension differs")
        analysis.metadata = {"format": METADATA_FORMAT, "type": analysis.sniffed.mime,
                             "size": size}
        if not analysis.sniffed.allowed:
            if size:
                analysis.flag(MediaFlag.UNSUPPORTED, "type is not on the allow-list")
            return analysis
        source.seek(0)
        scan = source.read(min(size, POLYGLOT_SCAN_BYTES))
        if analysis.sniffed.kind is not MediaKind.DOCUMENT and has_markup(scan):
            analysis.flag(MediaFlag.POLYGLOT, "markup found inside a media file")
        if analysis.sniffed.kind is MediaKind.IMAGE:
            _analyse_image(source, analysis, size)
        elif analysis.sniffed.kind in (MediaKind.VIDEO, MediaKind.AUDIO):
            _analyse_av(source, analysis)
        if source.passes > 1:
            log.info("evidence item %s needed %d passes", item.id, source.passes)
    return analysis


def _analyse_image(source: SeekableBlob, analysis: Analysis, size: int) -> None:
    source.seek(0)
    prefix = source.read(JPEG_CHECK_MAX_BYTES if analysis.sniffed.mime == "image/jpeg"
                         else 32 * 1024 * 1024)
    if analysis.sniffed.mime == "image/jpeg" and size <= JPEG_CHECK_MAX_BYTES:
        fault = jpeg_damage(prefix)
        if fault is not None:
            analysis.flag(MediaFlag.CORRUPT, fault)
    exif = extract_exif(prefix, timeout=EXIF_TIMEOUT)
    del prefix
    analysis.methods.append(EXIF_METHOD)
    analysis.metadata["exif_status"] = exif.status
    if exif.status == "timeout":
        analysis.flag(MediaFlag.PARSE_TIMEOUT, "EXIF parser timed out")
    elif exif.status == "error":
        analysis.flag(MediaFlag.PARSE_TIMEOUT, "EXIF parser failed or ran out of memory")
    analysis.metadata["exif"] = exif.fields
    analysis.metadata["exif_tags"] = exif.tags
    source.seek(0)
    try:
        outcome = image_derivatives(as_binary(source))
    except MediaFlagged as e:
        analysis.flag(MediaFlag(e.flag), e.reason)
        return
    analysis.methods.append(PILLOW)
    analysis.metadata["image"] = {"width": outcome.width, "height": outcome.height,
                                  "frames": outcome.frames}
    analysis.derivatives.extend(outcome.derivatives)
    analysis.phash, analysis.phash_source = outcome.phash, "image"


def _analyse_av(source: SeekableBlob, analysis: Analysis) -> None:
    source.seek(0)
    analysis.methods.append(AV_METHOD)
    try:
        wants_video = analysis.sniffed.kind is MediaKind.VIDEO
        result = video.analyse(as_binary(source), want_video=wants_video)
    except MediaFlagged as e:
        analysis.flag(MediaFlag(e.flag), e.reason)
        return
    analysis.metadata["container"] = result.metadata
    for flag, reason in result.flags:
        analysis.flag(MediaFlag(flag), reason)
    analysis.derivatives.extend(result.derivatives)
    if result.phash is not None:
        analysis.phash, analysis.phash_source = result.phash, "poster"


# --- writing phase -----------------------------------------------------------------------


def _record(session: Session, store: BlobStore, item: EvidenceItem, row: MediaProcessing,
            analysis: Analysis) -> None:
    subject = f"evidence:{item.public_id}"
    source_blob = f"blob:{item.blob_id}"
    with unit_of_work(session):
        row = session.get(MediaProcessing, item.id) or row
        document = json.dumps(analysis.metadata, ensure_ascii=False, sort_keys=True,
                              default=str).encode("utf-8")
        meta = blobs.ingest(session, store, io.BytesIO(document), actor=None, subject=subject,
                            max_size=DERIVATIVE_MAX_BYTES)
        custody.append(session, actor=None, action="metadata_extracted", subject=subject,
                       details={"source": source_blob, "metadata": f"blob:{meta.record.id}",
                                "method": " + ".join(analysis.methods) or "sniff"})
        row.metadata_blob_id = meta.record.id
        for derivative in analysis.derivatives:
            _store_derivative(session, store, item, derivative, subject, source_blob)
        if analysis.phash is not None:
            _store_phash(session, store, item.id, analysis.phash, analysis.phash_source)
        existing = set(session.scalars(select(MediaFlagRecord.flag)
                                       .where(MediaFlagRecord.item_id == item.id)))
        for flag, reason in analysis.flags.items():
            if flag not in existing:
                session.add(MediaFlagRecord(item_id=item.id, flag=flag, reason=reason))
        row.sniffed_type = analysis.sniffed.mime
        row.kind = analysis.sniffed.kind.value
        row.status = ProcessingStatus.DONE
        row.finished_at = utcnow()
        custody.append(session, actor=None, action="processed", subject=subject,
                       details={"type": analysis.sniffed.mime,
                                "flags": sorted(f.value for f in analysis.flags)})


def _store_derivative(session: Session, store: BlobStore, item: EvidenceItem,
                      derivative: Derivative, subject: str, source_blob: str) -> None:
    kind = DerivativeKind(derivative.kind)
    old = session.scalars(select(MediaDerivative).where(
        MediaDerivative.item_id == item.id, MediaDerivative.kind == kind)).first()
    if old is not None:  # made by an earlier, interrupted run: keep the first one
        return
    ingested = blobs.ingest(session, store, io.BytesIO(derivative.data), actor=None,
                            subject=subject, max_size=DERIVATIVE_MAX_BYTES)
    session.add(MediaDerivative(item_id=item.id, kind=kind, blob_id=ingested.record.id,
                                mime=derivative.mime, method=derivative.method[:120],
                                width=derivative.width, height=derivative.height))
    custody.append(session, actor=None, action="derivative_made", subject=subject,
                   details={"source": source_blob, "derivative": f"blob:{ingested.record.id}",
                            "kind": kind.value, "method": derivative.method})


def phash_context(item_pk: int) -> str:
    """HPKE binding of a sealed pHash to its row: cannot be moved to another item."""
    return f"media-phash/{item_pk}"


def _store_phash(session: Session, store: BlobStore, item_pk: int, value: int,
                 source: str) -> None:
    key_id, sealed = store.keys.seal_data_key(phashes.to_bytes(value), phash_context(item_pk))
    row = session.get(MediaPhash, item_pk)
    if row is None:
        session.add(MediaPhash(item_id=item_pk, source=source, key_id=key_id, sealed=sealed))
    else:
        row.source, row.key_id, row.sealed = source, key_id, sealed
