"""Small JSON values sealed as evidence blobs, as testimony is (DESIGN §3).

What names or describes people and what reviewers write about them is stored with
`blobs.ingest` (encrypted under the vault public key, hashed, a "stored" custody event naming
what it is part of) and read back only after a "viewed" event has committed (fail closed, as
`blobs.open_for_reading`): actors' names and reasons, witnesses' declared file names,
reviewer notes, assessment reasons, questions to witnesses, case and incident descriptions.
Sealing needs only the public key, so it works while the vault is sealed; reading needs the
vault. `read_many` records the events of a whole page in one transaction instead of one
commit per value; `read_texts` is the same for pages that must still answer while the vault
is sealed (they say "sealed" where the text would be).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from incidents.core.database import begin_write
from incidents.core.errors import N_, LedgerUnavailable, ServiceUnavailable, VaultIsSealed
from incidents.models import BlobRecord, BlobStatus
from incidents.services import custody
from incidents.services.evidence import blobs
from storage.blob_reader import BlobReader
from storage.blobstore import BlobRef, BlobStore
from storage.errors import StorageError, VaultSealed

log = logging.getLogger(__name__)

MAX_SEALED_BYTES = 256 * 1024
TEXT = "text"  # the one key of a sealed text's JSON


def seal(session: Session, store: BlobStore, value: Any, *, actor: str | None,
         part_of: str) -> str:
    """Store `value` as a sealed JSON blob in the caller's transaction; its blob id."""
    data = json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")
    ingested = blobs.ingest(session, store, [data], actor=actor, subject=part_of,
                            max_size=MAX_SEALED_BYTES)
    return ingested.record.id


def seal_text(session: Session, store: BlobStore, text: str, *, actor: str | None,
              part_of: str) -> str | None:
    """`seal` for one piece of text ({"text": ...}); None for an empty text (nothing stored)."""
    if not text:
        return None
    return seal(session, store, {TEXT: text}, actor=actor, part_of=part_of)


@dataclass(frozen=True)
class Texts:
    """Texts of sealed blobs, by blob id. While the vault is sealed, `sealed` is True and
    every lookup answers None (nothing was opened and no access was recorded)."""

    values: Mapping[str, Any]
    sealed: bool = False

    def get(self, blob_id: str | None) -> str | None:
        """The text of `blob_id`: "" for no blob, None while the vault is sealed."""
        if blob_id is None:
            return ""
        if self.sealed:
            return None
        value = self.values.get(blob_id)
        return value.get(TEXT, "") if isinstance(value, dict) else ""


def read_texts(session: Session, store: BlobStore, blob_ids: Iterable[str | None], *,
               actor: str | None) -> Texts:
    """`read_many` of `seal_text` blobs that answers a sealed vault with `Texts(sealed=True)`
    instead of VaultIsSealed, for pages that must still answer (they say "sealed")."""
    try:
        return Texts(read_many(session, store, blob_ids, actor=actor))
    except VaultIsSealed:
        return Texts({}, sealed=True)


def read_many(session: Session, store: BlobStore, blob_ids: Iterable[str | None], *,
              actor: str | None) -> dict[str, Any]:
    """Open every blob's data key, commit one "viewed" event per blob, then decrypt each;
    {blob id: value}.

    The keys first (they need the unsealed vault): a sealed vault raises VaultIsSealed and
    records no access that did not happen; then the events; no plaintext before they commit.
    """
    wanted = sorted({b for b in blob_ids if b})
    if not wanted:
        return {}
    records = list(session.scalars(select(BlobRecord).where(
        BlobRecord.id.in_(wanted), BlobRecord.status == BlobStatus.ACTIVE)))
    readers: dict[str, BlobReader] = {}
    try:
        for record in records:
            ref = BlobRef(blob_id=record.id, key_id=record.key_id,
                          sealed_key=record.sealed_key)
            readers[record.id] = store.open(ref)
    except BaseException as e:
        for reader in readers.values():
            reader.close()
        session.rollback()
        if isinstance(e, VaultSealed):
            raise VaultIsSealed() from e
        if isinstance(e, StorageError):
            log.error("sealed blob could not be opened: %s", type(e).__name__)
            raise ServiceUnavailable(N_("The evidence file could not be opened.")) from e
        raise
    try:
        begin_write(session)
        custody.append_many(session, [custody.NewEvent(actor=actor, action="viewed",
                                                       subject=f"blob:{r.id}")
                                      for r in records])
        session.commit()
    except SQLAlchemyError as e:
        session.rollback()
        for reader in readers.values():
            reader.close()
        log.error("sealed values not opened: ledger not writable (%s)", type(e).__name__)
        raise LedgerUnavailable(N_("The custody ledger cannot be written, so the evidence "
                                   "cannot be opened.")) from e
    values: dict[str, Any] = {}
    for blob_id, reader in readers.items():
        try:
            with reader:
                data = reader.read(MAX_SEALED_BYTES + 1)
        except StorageError as e:
            log.error("sealed blob %s could not be read: %s", blob_id, type(e).__name__)
            raise ServiceUnavailable(N_("The evidence file could not be opened.")) from e
        values[blob_id] = json.loads(data.decode("utf-8"))
    return values
