"""Vault key rotation: re-seal every data key and sealed digest to the new key, retire the old."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from incidents.core.database import begin_write
from incidents.models import BlobRecord, MediaPhash
from incidents.models.uploads import Upload, UploadSegment
from incidents.services import custody
from incidents.services.evidence.blobs import digest_context, phash_context
from storage.crypto import key_directory
from storage.crypto.keys import KeyProvider, reseal

log = logging.getLogger(__name__)


# --- keys ---------------------------------------------------------------------------------


def reseal_all(session: Session, keys: KeyProvider, *, actor: str | None = None) -> int:
    """Re-seal every data key, sealed digest and sealed pHash (media_phashes) to the active
    vault key, in the caller's transaction, with a "key_rotated" event; returns how many
    rows changed.

    Sets the ledger head's required key first (under the append lock), so blobs being
    ingested concurrently re-seal themselves before they commit.
    """
    active = keys.active_key_id()
    begin_write(session)
    query = select(BlobRecord).where(
        or_(BlobRecord.key_id != active, BlobRecord.digest_key_id != active))
    custody.append(session, actor=actor, action="key_rotated", subject=f"vault-key:{active}",
                   details={"active_key_id": active})
    current = custody.head(session)
    assert current is not None  # append created it
    current.active_key_id = active
    changed = 0
    for record in session.scalars(query):
        record.key_id, record.sealed_key = reseal(keys, record.key_id, record.sealed_key,
                                                  record.id)
        record.digest_key_id, record.sealed_digest = reseal(
            keys, record.digest_key_id, record.sealed_digest, digest_context(record.id))
        changed += 1
    # Sealed perceptual hashes (incidents/services/media): the same vault key, the same transaction.
    for row in session.scalars(select(MediaPhash).where(MediaPhash.key_id != active)):
        row.key_id, row.sealed = reseal(keys, row.key_id, row.sealed, phash_context(row.item_id))
        changed += 1
    session.flush()
    return changed


def keys_in_use(session: Session) -> set[str]:
    """Vault key ids some row still needs: blobs, sealed pHashes, uploads in progress."""
    used = set(session.scalars(select(BlobRecord.key_id).distinct()))
    used |= set(session.scalars(select(BlobRecord.digest_key_id).distinct()))
    used |= set(session.scalars(select(MediaPhash.key_id).distinct()))
    used |= set(session.scalars(select(UploadSegment.key_id).distinct()))
    for column in (Upload.key_id, Upload.digest_key_id):
        used |= {k for k in session.scalars(select(column).distinct()) if k is not None}
    # Unclaimed uploads' sealed names (services.uploads.PendingName): kept, not re-sealed,
    # like the uploads' own keys; a claim re-seals them to the active key.
    for name in session.scalars(select(Upload.pending_name).where(
            Upload.pending_name.is_not(None))):
        used |= {name["key_id"], name["digest_key_id"]}
    return used


@dataclass(frozen=True)
class Rotation:
    new_key_id: str
    resealed: int
    retired: list[str]
    kept: list[str]


class RotatingKeys(KeyProvider, Protocol):
    """A key provider that can make a new vault key (the key agent, which holds the unseal key)."""

    def rotate(self) -> str: ...

    def key_ids(self) -> list[str]: ...


def rotate_keys(session: Session, ring: RotatingKeys, key_dir: Path, *,
                actor: str | None = None) -> Rotation:
    """Make a new vault key active, re-seal every data key to it in ONE transaction (with a
    "key_rotated" event), then retire each older key that no row uses any more.

    The new key is made by the key agent (it alone holds the unseal key); each data key is
    opened by the agent and sealed again here to the new public key."""
    new_key_id = ring.rotate()
    try:
        resealed = reseal_all(session, ring, actor=actor)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    in_use = keys_in_use(session)
    session.rollback()
    retired, kept = [], []
    for key_id in ring.key_ids():
        if key_id == new_key_id:
            continue
        if key_id in in_use:
            kept.append(key_id)
            continue
        key_directory.retire_vault_key(key_dir, key_id)
        retired.append(key_id)
    if retired:
        begin_write(session)
        for key_id in retired:
            custody.append(session, actor=actor, action="key_retired",
                           subject=f"vault-key:{key_id}", details={})
        session.commit()
    return Rotation(new_key_id=new_key_id, resealed=resealed, retired=retired, kept=kept)
