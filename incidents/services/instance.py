"""Setting up an instance folder: secret, database schema, keys. Safe to run again."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config

from incidents.core.settings import PROJECT_ROOT, Settings
from storage.crypto.key_directory import MANIFEST, Argon2Params, Created, init_key_directory


def write_private(path: Path, text: str) -> None:
    """Create a file readable by its owner only; never replace an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def migrate(database_url: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


@dataclass(frozen=True)
class Initialised:
    """What `init` made: names for the CLI to print and, for a new vault, its recovery shares."""

    created: list[str]
    vault: Created | None


def initialise(settings: Settings, *, shares: int = 1, threshold: int = 1,
               passphrase: str | None = None) -> Initialised:
    """Create what is missing: secret, schema, keys (the vault's unseal key only as shares)."""
    created: list[str] = []
    vault: Created | None = None
    instance = settings.instance_path
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(instance, 0o700)  # the key agent may have made it first (for its socket)
    secret = instance / "secret_key"
    if not secret.exists() and not settings.secret_key:
        write_private(secret, secrets.token_hex(32))
        created.append("secret key")
    migrate(settings.effective_database_url)
    if not (settings.key_dir / MANIFEST).exists():
        argon2 = Argon2Params(memory_cost=settings.argon2_memory_kib,
                              iterations=settings.argon2_time_cost,
                              lanes=settings.argon2_parallelism)
        vault = init_key_directory(settings.key_dir, shares=shares, threshold=threshold,
                                   passphrase=passphrase, argon2=argon2)
        created.append("vault and signing keys")
    if settings.storage_backend == "local":
        settings.blob_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Initialised(created, vault)
