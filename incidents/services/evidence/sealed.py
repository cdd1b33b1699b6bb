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
    """Check every blob's data key opens, commit one "viewed" event per blob, then decrypt
    each; {blob id: value}.

    The keys first (they need the unsealed vault): a sealed vault raises VaultIsSealed and
    records no access that did not happen; then the events; no plaintext before they commit.
    Blobs are then opened one at a time (a page of 500 incidents holds one file open, not
    500); a vault sealed in between fails closed like any read.
    """
    wanted = sorted({b for b in blob_ids if b})
    if not wanted:
        return {}
    records = list(session.scalars(select(BlobRecord).where(
        BlobRecord.id.in_(wanted), BlobRecord.status == BlobStatus.ACTIVE)))
    refs = [BlobRef(blob_id=r.id, key_id=r.key_id, sealed_key=r.sealed_key) for r in records]
    try:
        for ref in refs:
            store.keys.unseal_data_key(ref.key_id, ref.sealed_key, ref.blob_id)
    except VaultSealed as e:
        session.rollback()
        raise VaultIsSealed() from e
    except StorageError as e:
        session.rollback()
        log.error("sealed blob could not be opened: %s", type(e).__name__)
        raise ServiceUnavailable(N_("The evidence file could not be opened.")) from e
    try:
        begin_write(session)
        custody.append_many(session, [custody.NewEvent(actor=actor, action="viewed",
                                                       subject=f"blob:{r.id}")
                                      for r in records])
        session.commit()
    except SQLAlchemyError as e:
        session.rollback()
        log.error("sealed values not opened: ledger not writable (%s)", type(e).__name__)
        raise LedgerUnavailable(N_("The custody ledger cannot be written, so the evidence "
                                   "cannot be opened.")) from e
    values: dict[str, Any] = {}
    for ref in refs:
        try:
            with store.open(ref) as reader:
                data = reader.read(MAX_SEALED_BYTES + 1)
        except VaultSealed as e:
            raise VaultIsSealed() from e
        except StorageError as e:
            log.error("sealed blob %s could not be read: %s", ref.blob_id, type(e).__name__)
            raise ServiceUnavailable(N_("The evidence file could not be opened.")) from e
        values[ref.blob_id] = json.loads(data.decode("utf-8"))
    return values
