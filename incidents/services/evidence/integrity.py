"""Blob verification, the one home of the rule: decrypt, re-hash, compare with the row's
sealed digest and with the commitment of the blob's "stored" custody event.

`custody verify --blobs` checks every active blob (`verify_blobs`); a reviewer checks one
item (`incidents.services.review.check_integrity`); both ask `verify_blob`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import BlobRecord, BlobStatus
from incidents.services import custody, ledger_verify
from incidents.services.evidence.blobs import RecordedView, unseal_digest
from storage.blobstore import BlobStore
from storage.errors import BlobNotFound, StorageError


@dataclass(frozen=True)
class BlobProblem:
    """What is wrong with a blob: a code for the API and custody details, a sentence for the
    ledger report. Neither names contents."""

    code: str  # "missing", "no_commitment", "commitment_mismatch", or the storage error
    text: str


def verify_blob(store: BlobStore, record: BlobRecord, committed: str | None
                ) -> BlobProblem | None:
    """None if the blob decrypts to the bytes its row and its "stored" event commit to."""
    try:
        sha256, salt = unseal_digest(store.keys, record)
        store.verify(RecordedView(blob_id=record.id, key_id=record.key_id,
                                  sealed_key=record.sealed_key, size=record.size,
                                  sha256=sha256, ciphertext_sha256=record.ciphertext_sha256))
    except BlobNotFound:
        return BlobProblem("missing", "the blob file is missing")
    except StorageError as e:
        return BlobProblem(type(e).__name__, f"{type(e).__name__}: {e}")
    if committed is None:
        return BlobProblem("no_commitment", "no custody event records storing this blob")
    if custody.commitment(sha256, salt) != committed:
        return BlobProblem("commitment_mismatch",
                           "its hash does not match the commitment in its custody event")
    return None


def verify_blobs(session: Session, store: BlobStore, report: ledger_verify.VerifyReport,
                 commitments: dict[str, str], progress: ledger_verify.Progress) -> None:
    """Decrypt and re-hash every active blob; check it against its row and its event."""
    records = list(session.scalars(
        select(BlobRecord).where(BlobRecord.status == BlobStatus.ACTIVE)
        .order_by(BlobRecord.created_at, BlobRecord.id)))
    for done, record in enumerate(records, 1):
        report.blobs += 1
        problem = verify_blob(store, record, commitments.get(record.id))
        if problem is not None:
            report.add("blob", f"blob {record.id}", problem.text)
            if report.first_bad_blob is None:
                report.first_bad_blob = record.id
        progress("blobs", done, len(records))
