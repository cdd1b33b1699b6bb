"""Near-duplicate pictures across submissions, by the Hamming distance of sealed pHashes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import EvidenceItem, MediaPhash, Submission
from incidents.services.evidence.blobs import phash_context
from incidents.services.media import phash as phashes
from incidents.services.media.items import find_item
from incidents.services.media.phash import DEFAULT_NEAR_DISTANCE
from storage.crypto.keys import KeyProvider
from storage.errors import KeyStoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NearDuplicate:
    item_id: int
    public_id: str
    submission_id: int
    distance: int
    submission_public_id: str  # what a link to the other submission needs


def unseal_phash(keys: KeyProvider, row: MediaPhash) -> int:
    return phashes.from_bytes(keys.unseal_data_key(row.key_id, row.sealed,
                                                   phash_context(row.item_id)))


def near_duplicates(session: Session, keys: KeyProvider, item_id: int | str,
                    max_distance: int = DEFAULT_NEAR_DISTANCE) -> list[NearDuplicate]:
    """Items in OTHER submissions whose picture is within `max_distance` bits, nearest first.

    Unseals every stored hash (about 0.1 ms each): fine for tens of thousands of items.
    Callers check that the acting user may see evidence across submissions (reviewers).
    """
    item = find_item(session, item_id)
    own = session.get(MediaPhash, item.id)
    if own is None:
        return []
    target = unseal_phash(keys, own)
    rows = session.execute(
        select(MediaPhash, EvidenceItem.public_id, EvidenceItem.submission_id,
               Submission.public_id)
        .join(EvidenceItem, EvidenceItem.id == MediaPhash.item_id)
        .join(Submission, Submission.id == EvidenceItem.submission_id)
        .where(EvidenceItem.submission_id != item.submission_id))
    found: list[NearDuplicate] = []
    for row, public_id, submission_id, submission_public_id in rows:
        try:
            value = unseal_phash(keys, row)
        except KeyStoreError:  # sealed to a retired key: re-process the item to re-seal
            log.warning("pHash of evidence item %s cannot be unsealed", row.item_id)
            continue
        distance = phashes.hamming(target, value)
        if distance <= max_distance:
            found.append(NearDuplicate(row.item_id, public_id, submission_id, distance,
                                       submission_public_id))
    return sorted(found, key=lambda d: (d.distance, d.item_id))
