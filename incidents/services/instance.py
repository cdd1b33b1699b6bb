"""Setting up an instance folder: secret, database schema, keys. Safe to run again."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from alembic import command
from alembic.config import Config

from incidents.core.settings import PROJECT_ROOT, Settings
from storage.crypto.key_directory import MANIFEST, init_key_directory


def write_private(path: Path, text: str) -> None:
    """Create a file readable by its owner only; never replace an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def migrate(database_url: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def initialise(settings: Settings) -> list[str]:
    """Create what is missing; returns a list of what was created (for the CLI to print)."""
    created: list[str] = []
    instance = settings.instance_path
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = instance / "secret_key"
    if not secret.exists() and not settings.secret_key:
        write_private(secret, secrets.token_hex(32))
        created.append("secret key")
    migrate(settings.effective_database_url)
    if not (settings.key_dir / MANIFEST).exists():
        init_key_directory(settings.key_dir, passphrase=settings.key_passphrase or None)
        created.append("vault and signing keys")
    if settings.storage_backend == "local":
        settings.blob_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return created
