"""Key rotation re-seals the sealed perceptual hashes of media too (media_phashes)."""

from __future__ import annotations

import io
import secrets

from incidents.models import EvidenceItem, EvidenceKind, MediaPhash
from incidents.services.evidence import blobs
from incidents.services.evidence import keys as key_rotation
from incidents.services.media import phash as phashes
from incidents.services.media.duplicates import unseal_phash
from incidents.services.media.process import phash_context
from tests.keys import ring_of
from tests.media.conftest import gen_submission

VALUE = 0x8F3C_0A5E_71D2_B469


def _item_with_sealed_phash(session, store) -> int:
    submission = gen_submission(session)
    with blobs.unit_of_work(session):
        ingested = blobs.ingest(session, store, io.BytesIO(b"a photo"), actor=None,
                                subject=f"submission:{submission.public_id}", max_size=1 << 20)
        item = EvidenceItem(public_id=secrets.token_hex(16), submission_id=submission.id,
                            kind=EvidenceKind.FILE, blob_id=ingested.record.id,
                            declared_type="image/jpeg", size=7)
        session.add(item)
        session.flush()
        key_id, sealed = store.keys.seal_data_key(phashes.to_bytes(VALUE), phash_context(item.id))
        session.add(MediaPhash(item_id=item.id, source="image", key_id=key_id, sealed=sealed))
    return item.id


def test_key_rotation_reseals_perceptual_hashes_so_the_old_key_can_retire(
        session, store, settings, keys, recovery_share):
    item_id = _item_with_sealed_phash(session, store)
    old = store.keys.active_key_id()
    rotation = key_rotation.rotate_keys(session, keys, settings.key_dir)
    assert rotation.retired == [old]
    row = session.get(MediaPhash, item_id, populate_existing=True)
    assert row.key_id == rotation.new_key_id
    fresh = ring_of(settings.key_dir, shares=[recovery_share])  # the key files and the share
    assert unseal_phash(fresh, row) == VALUE


def test_blobs_binds_a_phash_to_its_item_exactly_as_media_processing_does():
    assert blobs.phash_context(42) == phash_context(42)
