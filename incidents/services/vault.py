"""Sealing and unsealing the evidence vault: shares, passphrase, seal now; each recorded.

The keys live in the key agent (storage.agent); this module is what the admin page and the
`vault` commands call. Every unseal and every seal is an audit event and a custody event
(`vault_unsealed`, `vault_sealed`), committed right after the agent changed state; if the
ledger cannot be written after an unseal, the vault is sealed again (fail closed). Media
processing that waited for the key (status pending) is listed for re-queueing after an unseal.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from incidents.core.database import begin_write, unit_of_work
from incidents.core.errors import N_, InvalidInput, LedgerUnavailable, VaultIsSealed
from incidents.models import EvidenceItem, User
from incidents.models.media import MediaProcessing, ProcessingStatus
from incidents.services import audit, custody, totp
from storage.crypto.key_directory import MANIFEST, MASTER_KEY, Created
from storage.crypto.key_migration import MigrationRefused, is_v1, migrate_key_directory
from storage.errors import ForeignShare, KeyStoreError, VaultSealed, WrongShares

log = logging.getLogger(__name__)

SUBJECT = "vault"

# What `init` and `migrate` hand back: the recovery shares, to be shown once.
Recovery = Created


class MigrationFailed(Exception):
    """The old key directory could not be migrated, or master.key could not be removed."""


class VaultControl(Protocol):
    """What the key agent offers for sealing and unsealing (storage.agent.client)."""

    def status(self) -> dict[str, Any]: ...

    def add_share(self, share: str) -> dict[str, Any]: ...

    def unseal_with_passphrase(self, passphrase: str) -> dict[str, Any]: ...

    def seal(self) -> dict[str, Any]: ...


def status(keys: VaultControl) -> dict[str, Any]:
    return keys.status()


def _record(session: Session, keys: VaultControl, action: str, actor: User | None,
            via: str, **details: Any) -> None:
    try:
        begin_write(session)
        audit.record(session, action, actor=actor, via=via, **details)
        custody.append(session, actor=actor.public_id if actor else None, action=action,
                       subject=SUBJECT, details={"via": via, **details})
        session.commit()
    except SQLAlchemyError as e:
        session.rollback()
        if action == "vault_unsealed":
            keys.seal()  # an unseal nobody can see in the ledger does not stand
        log.error("vault event %s could not be recorded (%s)", action, type(e).__name__)
        raise LedgerUnavailable(N_("The custody ledger cannot be written, so the vault "
                                   "stays sealed.")) from e


def _wrong(error: WrongShares, field: str) -> InvalidInput:
    if isinstance(error, ForeignShare):
        return InvalidInput(N_("This recovery share belongs to another vault."), field=field)
    if field == "passphrase":
        return InvalidInput(N_("This passphrase does not open the vault."), field=field)
    return InvalidInput(N_("These recovery shares do not open the vault. Every share given "
                           "so far has been forgotten; start again."), field=field)


def check_trustee_code(session: Session, user: User, code: str) -> None:
    """A fresh second-factor code before a share is taken; a used recovery code stays used
    (committed now, whatever the share then does)."""
    with unit_of_work(session):
        accepted = totp.check_code(session, user, code)
    if not accepted:
        raise InvalidInput(N_("The second-factor code is wrong or was already used."),
                           field="code")


def give_share(session: Session, keys: VaultControl, share: str, *, actor: User | None,
               via: str) -> dict[str, Any]:
    """One trustee's share; unseals (and records it) once enough have been given."""
    if not share.strip() or len(share) > 1024:
        raise InvalidInput(N_("Enter a recovery share."), field="share")
    if not keys.status()["sealed"]:
        return {"sealed": False, "pending": 0}
    try:
        result = keys.add_share(share)
    except WrongShares as e:
        audit.record(session, "vault_share_refused", actor=actor, via=via)
        session.commit()
        raise _wrong(e, "share") from e
    except VaultSealed as e:  # the agent is not running
        raise VaultIsSealed(N_("The key agent is not running; start it, then unseal.")) from e
    if result["sealed"]:
        audit.record(session, "vault_share_given", actor=actor, via=via,
                     pending=int(result["pending"]))
        session.commit()
    else:
        _record(session, keys, "vault_unsealed", actor, via, method="slip39")
    return result


def unseal_with_passphrase(session: Session, keys: VaultControl, passphrase: str, *,
                           actor: User | None, via: str) -> dict[str, Any]:
    if not passphrase or len(passphrase) > 1024:
        raise InvalidInput(N_("Enter the vault passphrase."), field="passphrase")
    try:
        result = keys.unseal_with_passphrase(passphrase)
    except WrongShares as e:
        audit.record(session, "vault_share_refused", actor=actor, via=via)
        session.commit()
        raise _wrong(e, "passphrase") from e
    except VaultSealed as e:
        raise VaultIsSealed(N_("The key agent is not running; start it, then unseal.")) from e
    _record(session, keys, "vault_unsealed", actor, via, method="argon2id")
    return result


def seal(session: Session, keys: VaultControl, *, actor: User | None, via: str) -> bool:
    """Seal now; returns False when it was sealed already (nothing recorded then)."""
    try:
        result = keys.seal()
    except VaultSealed:
        return False  # no agent: nothing holds the keys
    except KeyStoreError as e:
        log.error("sealing failed: %s", type(e).__name__)
        raise
    if result.get("was_sealed"):
        return False
    _record(session, keys, "vault_sealed", actor, via)
    return True


def waiting_items(session: Session) -> list[str]:
    """Public ids of items whose processing waits for the vault (status pending)."""
    rows = session.scalars(
        select(EvidenceItem.public_id).join(MediaProcessing,
                                            MediaProcessing.item_id == EvidenceItem.id)
        .where(MediaProcessing.status == ProcessingStatus.PENDING)
        .order_by(EvidenceItem.id)).all()
    session.rollback()
    return list(rows)


def needs_migration(key_dir: Path) -> bool:
    """An old key directory: private keys wrapped under master.key or a stored passphrase."""
    return is_v1(key_dir)


def has_master_key(key_dir: Path) -> bool:
    return (key_dir / MASTER_KEY).exists()


def migrate(key_dir: Path, *, old_passphrase: str | None, shares: int, threshold: int,
            passphrase: str | None) -> Recovery:
    """v1 -> v2 (storage.crypto.key_migration); refuses to report success with master.key left."""
    try:
        created = migrate_key_directory(key_dir, old_passphrase=old_passphrase, shares=shares,
                                        threshold=threshold, passphrase=passphrase)
    except (MigrationRefused, KeyStoreError, ValueError) as e:
        raise MigrationFailed(f"migration failed: {e}") from e
    if has_master_key(key_dir) or not (key_dir / MANIFEST).exists():
        raise MigrationFailed("migration incomplete: master.key is still there")
    return created
