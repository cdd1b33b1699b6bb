"""Backups that prove themselves: a database dump, the blob list, the checkpoint state.

A backup folder holds (docs/deployment.md, "Backups"):

- ``database.pgdump`` (``pg_dump --format=custom``) or ``database.sqlite3`` (SQLite's online
  backup API: a consistent copy of a live database);
- ``blobs.tsv``: every blob the database refers to, ``id  size  ciphertext_sha256`` — what the
  blob store must still hold (blobs themselves are backed up by the store: S3 versioning or
  replication, or a copy of the blob folder; they are encrypted and never change);
- ``ledger.tsv``: ``seq  event hash`` of every custody event, so the backup's tree can be
  checked against any signed checkpoint without restoring it;
- ``checkpoint-state.json``: the signer's state file outside the database, and
  ``checkpoint.note``: the latest signed checkpoint in the database;
- ``manifest.json``: what was backed up and the SHA-256 of every file above.

``verify`` checks all of it, and refuses a backup older than the newest checkpoint anyone
holds — the instance's state file and any signed notes from receipts or partners — or one
whose events are not consistent with it: restoring it would silently rewrite history.
``restore`` verifies, restores the database, then runs ``custody verify --blobs``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from incidents.core.settings import Settings
from incidents.models import BlobRecord, Checkpoint, CustodyEvent
from storage.blobstore import BlobStore
from storage.checkpoint_state import CheckpointGuard
from storage.crypto.merkle import root as merkle_root
from storage.crypto.note import NoteError, verify_note
from storage.errors import StorageError

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.pgdump"
SQLITE_COPY = "database.sqlite3"
BLOB_LIST = "blobs.tsv"
LEDGER_LIST = "ledger.tsv"
STATE_COPY = "checkpoint-state.json"
NOTE_COPY = "checkpoint.note"


class BackupError(Exception):
    """A backup cannot be made, is damaged, or must not be restored (the message says why)."""


@dataclass(frozen=True)
class Held:
    """A signed checkpoint someone holds: (size, root) and where it came from."""

    size: int
    root: bytes
    source: str


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    events: int
    blobs: int
    checkpoint_size: int | None
    database: str


# --- create ------------------------------------------------------------------------------


def create(session: Session, store: BlobStore, settings: Settings, folder: Path) -> BackupSummary:
    """Write a backup of this instance into ``folder`` (new or empty; made 0700)."""
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # it holds sealed keys and the whole record
    url = settings.effective_database_url
    # The lists first, from one snapshot; the dump, taken after, holds at least all of it.
    blob_count = _write_lines(folder / BLOB_LIST, (
        f"{row.id}\t{row.size}\t{row.ciphertext_sha256}" for row in session.execute(
            select(BlobRecord.id, BlobRecord.size, BlobRecord.ciphertext_sha256)
            .order_by(BlobRecord.id))))
    events = _write_lines(folder / LEDGER_LIST, (
        f"{seq}\t{h.hex()}" for seq, h in session.execute(
            select(CustodyEvent.seq, CustodyEvent.hash).order_by(CustodyEvent.seq))))
    latest = session.scalars(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1)).first()
    session.rollback()
    missing = [line.split("\t", 1)[0] for line in _read_lines(folder / BLOB_LIST)
               if not _exists(store, line.split("\t", 1)[0])]
    if missing:
        raise BackupError(f"{len(missing)} blob(s) the database refers to are not in the "
                          f"store (first: {missing[0]}); run `custody verify --blobs`")
    if url.startswith("sqlite"):
        database = "sqlite"
        _sqlite_backup(url, folder / SQLITE_COPY)
    else:
        database = "postgresql"
        _pg_dump(url, folder / PG_DUMP)
    if settings.checkpoint_state_file.exists():
        shutil.copyfile(settings.checkpoint_state_file, folder / STATE_COPY)
    if latest is not None:
        (folder / NOTE_COPY).write_text(latest.note, encoding="utf-8")
    files = {p.name: _sha256(p) for p in sorted(folder.iterdir()) if p.name != MANIFEST}
    manifest = {
        "format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": database, "events": events, "blobs": blob_count,
        "checkpoint_size": latest.size if latest else None,
        "backend": settings.storage_backend, "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for path in folder.iterdir():
        os.chmod(path, 0o600)
    return BackupSummary(folder, events, blob_count, latest.size if latest else None, database)


def _exists(store: BlobStore, blob_id: str) -> bool:
    try:
        return store.exists(blob_id)
    except StorageError as e:
        raise BackupError(f"the blob store cannot be read ({type(e).__name__})") from e


def _write_lines(path: Path, lines: Iterable[str]) -> int:
    n = 0
    with path.open("w", encoding="ascii") as out:
        for line in lines:
            out.write(line + "\n")
            n += 1
    return n


def _read_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="ascii") as f:
        for line in f:
            if line.strip():
                yield line.rstrip("\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_backup(url: str, target: Path) -> None:
    """SQLite's online backup API: a consistent copy even while servers write."""
    source = sqlite3.connect(_sqlite_path(url))
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)
    finally:
        copy.close()
        source.close()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/pg_restore; the password goes by environment."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(argv, env=env, capture_output=True, text=True,  # noqa: S603
                                timeout=3600, check=False)
    except FileNotFoundError as e:
        raise BackupError(f"{argv[0]} is not installed (the PostgreSQL client tools)") from e
    if result.returncode != 0:
        # pg_dump's messages name objects, never row contents.
        raise BackupError(f"{what} failed: {result.stderr.strip()[:500]}")


def _pg_dump(url: str, target: Path) -> None:
    dsn, env = _libpq(url)
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), dsn], env,
         "pg_dump")


# --- verify ------------------------------------------------------------------------------


def read_manifest(folder: Path) -> dict[str, object]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BackupError(f"{folder} has no readable {MANIFEST}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{folder}/{MANIFEST} is not a backup manifest of format {FORMAT}")
    return manifest


def held_checkpoints(settings: Settings, public_key: object, notes: Iterable[str]) -> list[Held]:
    """The checkpoints this instance's signer recorded and those receipts or partners hold."""
    held: list[Held] = []
    state = CheckpointGuard(settings.checkpoint_state_file).current()
    if state is not None:
        held.append(Held(state.size, state.root, "the signer's state file"))
    for n, text in enumerate(notes, 1):
        try:
            parsed = verify_note(text, public_key, settings.custody_origin)  # type: ignore[arg-type]
        except NoteError as e:
            raise BackupError(f"checkpoint note {n} is not signed by this instance's key") from e
        held.append(Held(parsed.size, parsed.root, f"checkpoint note {n}"))
    return held


def verify(folder: Path, store: BlobStore | None, held: list[Held], *,
           scrub: bool = False) -> dict[str, object]:
    """Check a backup; raise BackupError naming the first problem. Returns the manifest."""
    manifest = read_manifest(folder)
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise BackupError("the manifest lists no files")
    for name, digest in sorted(files.items()):
        path = folder / name
        if Path(name).name != name or not path.is_file():
            raise BackupError(f"{name} is missing from the backup")
        if _sha256(path) != digest:
            raise BackupError(f"{name} differs from the manifest (damaged or altered)")
    _check_dump(folder, str(manifest.get("database")))
    hashes = [bytes.fromhex(line.split("\t")[1]) for line in _read_lines(folder / LEDGER_LIST)]
    for point in held:
        if len(hashes) < point.size:
            raise BackupError(
                f"the backup holds {len(hashes)} custody events, but {point.source} has a "
                f"signed checkpoint of {point.size}: restoring it would rewrite history")
        if merkle_root(hashes[: point.size]) != point.root:  # leaves: the event hashes
            raise BackupError(f"the backup's events are not consistent with {point.source} "
                              f"(size {point.size}): a different history")
    if store is not None:
        for line in _read_lines(folder / BLOB_LIST):
            blob_id, size, digest = line.split("\t")
            if not _exists(store, blob_id):
                raise BackupError(f"blob {blob_id} is not in the store")
            if scrub:
                _scrub(store, blob_id, int(size), digest)
    return manifest


@dataclass(frozen=True)
class _Listed:
    blob_id: str
    size: int
    sha256: str
    ciphertext_sha256: str
    key_id: str = ""
    sealed_key: bytes = b""


def _scrub(store: BlobStore, blob_id: str, size: int, digest: str) -> None:
    try:
        store.verify_ciphertext(_Listed(blob_id, size, "", digest))
    except StorageError as e:
        raise BackupError(f"blob {blob_id} differs from its recorded ciphertext SHA-256") from e


def _check_dump(folder: Path, database: str) -> None:
    if database == "sqlite":
        path = folder / SQLITE_COPY
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchone()
        except sqlite3.DatabaseError as e:
            raise BackupError("the SQLite copy is not a database") from e
        finally:
            connection.close()
        if result is None or result[0] != "ok":
            raise BackupError("the SQLite copy fails its integrity check")
    elif database == "postgresql":
        _run(["pg_restore", "--list", str(folder / PG_DUMP)], dict(os.environ),
             "reading the PostgreSQL dump (pg_restore --list)")
    else:
        raise BackupError(f"unknown database kind {database!r} in the manifest")


# --- restore -----------------------------------------------------------------------------


def restore_database(folder: Path, manifest: dict[str, object], settings: Settings) -> None:
    """Replace this instance's database with the backup's (servers must be stopped)."""
    url = settings.effective_database_url
    kind = manifest.get("database")
    if kind == "sqlite":
        if not url.startswith("sqlite"):
            raise BackupError("this backup is of a SQLite database; DATABASE_URL is not SQLite")
        target = _sqlite_path(url)
        source = sqlite3.connect(f"file:{folder / SQLITE_COPY}?mode=ro", uri=True)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
    elif kind == "postgresql":
        if url.startswith("sqlite"):
            raise BackupError("this backup is of a PostgreSQL database; set DATABASE_URL")
        dsn, env = _libpq(url)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--dbname", dsn, str(folder / PG_DUMP)], env, "pg_restore")
    else:
        raise BackupError(f"unknown database kind {kind!r} in the manifest")
    if not settings.checkpoint_state_file.exists() and (folder / STATE_COPY).exists():
        # A new machine: the signer's memory comes back too. An existing state file is
        # never replaced: it is what refuses an older history.
        shutil.copyfile(folder / STATE_COPY, settings.checkpoint_state_file)
        os.chmod(settings.checkpoint_state_file, 0o600)
