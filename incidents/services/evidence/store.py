"""Wiring of the evidence store: the vault public keys, the key agent and the blob store.

This process never holds a vault private key: `AgentProvider` seals new data keys with the
public keys and asks the key agent (storage.agent) to open them, so intake works while the
vault is sealed and reads answer 503 (`VaultSealed`). `open_store` refuses to start
(EvidenceStartupError) when a key file is missing, open to others or malformed. An
instance whose key directory has not been created yet (no `keyring.json`) and that holds
no blobs starts without them, so that `flask --app wsgi init` can create them; evidence
services then answer 503.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from incidents.core.database import Database
from incidents.core.settings import Settings
from incidents.services import checkpoints
from incidents.services.evidence import orphans as orphan_blobs
from incidents.services.signer import CheckpointSigner
from storage.agent.client import AgentProvider, LocalTransport, SocketTransport, Transport
from storage.agent.core import Vault
from storage.backends import make_backend
from storage.backends.base import BlobBackend
from storage.blobstore import BlobStore
from storage.crypto.key_directory import MANIFEST
from storage.crypto.key_migration import is_v1
from storage.errors import KeyDirectoryOutdated, KeyStoreError, StorageError

log = logging.getLogger(__name__)

# Temporary blobs older than this are leftovers of interrupted writes; younger ones may
# belong to an upload in progress in another worker process.
STARTUP_SWEEP_AGE = 3600.0


class EvidenceStartupError(RuntimeError):
    """The evidence store cannot be used safely; the application must not start."""


# Tests only: one Vault per key directory in this process, shared by every app made on it,
# as every web and worker process of an instance shares its one key agent.
_IN_PROCESS_VAULTS: dict[Path, Vault] = {}


def make_transport(settings: Settings) -> tuple[Transport, Vault | None]:
    """The agent over its socket, or (tests only) a vault living in this process."""
    if settings.vault_agent == "socket":
        return SocketTransport(settings.vault_socket_path), None
    if settings.vault_agent == "inprocess" and settings.testing:
        vault = _IN_PROCESS_VAULTS.get(settings.key_dir)
        if vault is None:
            vault = Vault(settings.key_dir, share_ttl=settings.vault_share_ttl_seconds)
            _IN_PROCESS_VAULTS[settings.key_dir] = vault
        return LocalTransport(vault), vault
    raise EvidenceStartupError("vault_agent must be 'socket' (or 'inprocess' in tests only)")


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


def load_keys(settings: Settings, transport: Transport) -> AgentProvider:
    """The public keys and the way to the agent, or EvidenceStartupError saying what is wrong."""
    try:
        return AgentProvider(settings.key_dir, transport)
    except KeyDirectoryOutdated as e:
        raise EvidenceStartupError(str(e)) from e
    except KeyStoreError as e:
        raise EvidenceStartupError(f"cannot load the vault public keys: {e}") from e


def keys_outdated(settings: Settings) -> bool:
    """An old key directory (master.key): the app starts so that `vault migrate` can run."""
    return (settings.key_dir / MANIFEST).exists() and is_v1(settings.key_dir)


def open_store(settings: Settings, database: Database,
               transport: Transport) -> tuple[AgentProvider, BlobStore] | None:
    """The public keys and blob store, checked; None while no (current) key directory exists."""
    if not (settings.key_dir / MANIFEST).exists():
        if settings.storage_backend == "local" and _holds_local_blobs(settings.blob_dir):
            raise EvidenceStartupError(
                f"the key directory {settings.key_dir} is missing but the blob folder holds "
                "evidence: restore the keys (nothing can be read or checked without them)")
        log.warning("no vault keys yet: evidence storage is unavailable until "
                    "`flask --app wsgi init`")
        return None
    if keys_outdated(settings):
        log.error("the key directory is in the old format (master.key): run "
                  "`flask --app wsgi vault migrate`; evidence storage is unavailable until then")
        return None
    keys = load_keys(settings, transport)
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


def checkpoint_if_due(database: Database, keys: AgentProvider, settings: Settings,
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
