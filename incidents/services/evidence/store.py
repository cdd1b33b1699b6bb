"""Wiring of the evidence store: the vault key ring and the blob store, checked at start-up.

`open_store` loads the key directory and refuses to start (EvidenceStartupError, with the
key store's message) when a key file is missing, open to others, the passphrase is wrong
or a public key does not match its private half. An instance whose key directory has not
been created yet (no `keyring.json`) and that holds no blobs starts without them, so that
`flask --app wsgi init` can create them; evidence services then answer 503.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from incidents.core.database import Database
from incidents.core.settings import Settings
from incidents.services import checkpoints
from incidents.services.evidence import orphans as orphan_blobs
from incidents.services.signer import CheckpointSigner
from storage.backends import make_backend
from storage.backends.base import BlobBackend
from storage.blobstore import BlobStore
from storage.crypto.key_directory import MANIFEST, load_key_ring
from storage.crypto.keys import VaultKeyRing
from storage.errors import KeyStoreError, KeyUnavailable, StorageError

log = logging.getLogger(__name__)

# Temporary blobs older than this are leftovers of interrupted writes; younger ones may
# belong to an upload in progress in another worker process.
STARTUP_SWEEP_AGE = 3600.0


class EvidenceStartupError(RuntimeError):
    """The evidence store cannot be used safely; the application must not start."""


class KeyRingHolder:
    """The KeyProvider the application uses: the key directory's ring, following rotations.

    `keys rotate` (another process) writes a new manifest; the next seal here notices and
    reloads, so new blobs are sealed to the new key. Rings loaded earlier are kept to open
    data keys sealed before the reload (their key files may be retired meanwhile).
    """

    def __init__(self, key_dir: Path, passphrase: str | None) -> None:
        self.key_dir = key_dir
        self._passphrase = passphrase
        self._lock = threading.Lock()
        self._stamp = self._manifest_stamp()
        self._ring = load_key_ring(key_dir, passphrase=passphrase)
        self._older: list[VaultKeyRing] = []

    def __repr__(self) -> str:
        return f"<KeyRingHolder {self._ring!r}>"

    def _manifest_stamp(self) -> bytes:
        # The content, not the mtime: two rotations within the clock's granularity, or a
        # reused inode, must still be noticed. The manifest is a few hundred bytes.
        return (self.key_dir / MANIFEST).read_bytes()

    def refresh(self) -> VaultKeyRing:
        """The current ring, reloaded first if the key directory's manifest changed."""
        try:
            stamp = self._manifest_stamp()
        except FileNotFoundError:
            return self._ring
        if stamp == self._stamp:
            return self._ring
        with self._lock:
            if stamp != self._stamp:
                ring = load_key_ring(self.key_dir, passphrase=self._passphrase)
                self._older.insert(0, self._ring)
                self._ring, self._stamp = ring, stamp
                log.info("vault key ring reloaded; active key %s", ring.active_key_id())
        return self._ring

    def active_key_id(self) -> str:
        return self.refresh().active_key_id()

    def key_ids(self) -> list[str]:
        return self.refresh().key_ids()

    def seal_data_key(self, data_key: bytes, blob_id: str) -> tuple[str, bytes]:
        return self.refresh().seal_data_key(data_key, blob_id)

    def unseal_data_key(self, key_id: str, sealed: bytes, blob_id: str) -> bytes:
        rings = [self.refresh(), *self._older]
        for ring in rings:
            if key_id in ring.key_ids():
                return ring.unseal_data_key(key_id, sealed, blob_id)
        raise KeyUnavailable(f"blob {blob_id}: vault key {key_id} is not available")

    def signing_key(self) -> Any:
        return self._ring.signing_key()

    def signing_public_key_pem(self) -> bytes:
        return self._ring.signing_public_key_pem()


def make_blob_backend(settings: Settings) -> BlobBackend:
    if settings.storage_backend == "s3":
        return make_backend(
            "s3", bucket=settings.s3_bucket, prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url or None, region=settings.s3_region,
            access_key=settings.s3_access_key or None, secret_key=settings.s3_secret_key or None)
    return make_backend(settings.storage_backend, root=settings.blob_dir)


def _holds_local_blobs(blob_dir: Path) -> bool:
    if not blob_dir.is_dir():
        return False
    for shard in os.scandir(blob_dir):
        if len(shard.name) == 2 and shard.is_dir(follow_symlinks=False) and any(
                os.scandir(shard.path)):
            return True
    return False


def load_keys(settings: Settings) -> KeyRingHolder:
    """Load the key directory or raise EvidenceStartupError saying what is wrong."""
    if settings.key_protection == "passphrase" and not settings.key_passphrase:
        raise EvidenceStartupError("key_protection is 'passphrase' but no passphrase was given "
                                   "(set INCIDENTS_KEY_PASSPHRASE)")
    try:
        return KeyRingHolder(settings.key_dir, settings.key_passphrase or None)
    except KeyStoreError as e:
        raise EvidenceStartupError(f"cannot load the vault keys: {e}") from e


def open_store(settings: Settings, database: Database) -> tuple[KeyRingHolder, BlobStore] | None:
    """The key ring and blob store, checked; None while no key directory exists yet."""
    if not (settings.key_dir / MANIFEST).exists():
        if settings.storage_backend == "local" and _holds_local_blobs(settings.blob_dir):
            raise EvidenceStartupError(
                f"the key directory {settings.key_dir} is missing but the blob folder holds "
                "evidence: restore the keys (nothing can be read or checked without them)")
        log.warning("no vault keys yet: evidence storage is unavailable until "
                    "`flask --app wsgi init`")
        return None
    keys = load_keys(settings)
    store = BlobStore(make_blob_backend(settings), keys)
    if settings.storage_backend == "local":  # S3: `custody sweep` (no network at start-up)
        try:
            swept = store.sweep_temporary(older_than=STARTUP_SWEEP_AGE)
        except (OSError, StorageError) as e:
            raise EvidenceStartupError(f"cannot read the blob folder: {e}") from e
        if swept:
            log.warning("removed %d temporary blob file(s) of interrupted writes: %s",
                        len(swept), ", ".join(swept))
        _quarantine_orphans_at_start_up(database, store, settings)
    return keys, store


def _quarantine_orphans_at_start_up(database: Database, store: BlobStore,
                                    settings: Settings) -> None:
    """Blobs with no row older than the grace period go to quarantine (blobs.py, logged)."""
    try:
        with database.new_session() as session:
            orphan_blobs.quarantine_orphans(session, store,
                                            older_than=settings.orphan_grace_seconds)
    except SQLAlchemyError as e:  # no tables yet (before `init`): nothing can be attached
        log.warning("orphaned blob check skipped at start-up (%s)", type(e).__name__)
    except (OSError, StorageError) as e:
        raise EvidenceStartupError(f"cannot read the blob folder: {e}") from e


def checkpoint_if_due(database: Database, keys: KeyRingHolder, settings: Settings,
                      signer: CheckpointSigner | None = None) -> None:
    """After a request that appended custody events: wake the background signer (it signs
    off the request thread), or without one sign a checkpoint if one is due."""
    if not database.session.registry.has():
        return
    if not database.session().info.pop("custody_appended", False):
        return
    if signer is not None:
        signer.wake()
        return
    try:
        with database.new_session() as session:
            checkpoints.maybe_checkpoint(session, keys, settings)
    except Exception as e:  # the events are committed; signing can be retried later
        log.error("automatic checkpoint failed: %s", type(e).__name__)
