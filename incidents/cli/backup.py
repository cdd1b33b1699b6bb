"""`flask --app wsgi backup create|verify|restore DIR`: backups that prove themselves."""

from __future__ import annotations

from pathlib import Path

import click

from incidents.cli.errors import domain_errors
from incidents.core.settings import Settings
from incidents.services import backups, ledger_verify
from incidents.services.evidence import integrity
from incidents.web import context
from incidents.web.context import get_blobstore, get_keys
from incidents.web.db import get_db

_DIR = click.Path(file_okay=False, path_type=Path)
_NOTE = click.option(
    "--checkpoint", "notes", multiple=True, type=click.File("r", encoding="utf-8"),
    help="a signed checkpoint note a receipt, a bundle or a partner holds (repeatable); "
         "a backup older than any of them, or inconsistent with one, is refused")


def _settings() -> Settings:
    return context.settings()


def _held(notes: tuple[click.utils.LazyFile, ...]) -> list[backups.Held]:
    public = get_keys().signing_key().public_key()
    return backups.held_checkpoints(_settings(), public, [n.read() for n in notes])


@click.group("backup")
def backup_group() -> None:
    """Back up the database, the blob list and the checkpoint state; verify; restore."""


@backup_group.command("create")
@click.argument("folder", type=_DIR)
@domain_errors
def create_command(folder: Path) -> None:
    """Write a backup into FOLDER (new or empty)."""
    with get_db().new_session() as session:
        try:
            summary = backups.create(session, get_blobstore(), _settings(), folder)
        except backups.BackupError as e:
            raise click.ClickException(str(e)) from e
    click.echo(f"Backup of the {summary.database} database written to {summary.path}: "
               f"{summary.events} custody events, {summary.blobs} blobs listed, "
               f"latest checkpoint {summary.checkpoint_size}.")


@backup_group.command("verify")
@click.argument("folder", type=_DIR)
@_NOTE
@click.option("--scrub", is_flag=True, help="also re-hash every listed blob in the store")
@domain_errors
def verify_command(folder: Path, notes: tuple[click.utils.LazyFile, ...], scrub: bool) -> None:
    """Check a backup: files, dump, blob list, and that it is not older than any checkpoint."""
    try:
        manifest = backups.verify(folder, get_blobstore(), _held(notes), scrub=scrub)
    except backups.BackupError as e:
        raise click.ClickException(f"backup refused: {e}") from e
    click.echo(f"OK: backup of {manifest['created_at']} verified ({manifest['events']} events, "
               f"{manifest['blobs']} blobs).")


@backup_group.command("restore")
@click.argument("folder", type=_DIR)
@_NOTE
@click.option("--yes", is_flag=True, help="do not ask (the database is replaced)")
@domain_errors
def restore_command(folder: Path, notes: tuple[click.utils.LazyFile, ...], yes: bool) -> None:
    """Verify FOLDER, replace the database with it, then run `custody verify --blobs`."""
    store = get_blobstore()
    try:
        manifest = backups.verify(folder, store, _held(notes))
    except backups.BackupError as e:
        raise click.ClickException(f"backup refused: {e}") from e
    if not yes:
        click.confirm("Stop every web server, worker and signer first. Replace the database?",
                      abort=True)
    database = get_db()
    database.engine.dispose()  # no pooled connection may outlive the old database
    try:
        backups.restore_database(folder, manifest, _settings())
    except backups.BackupError as e:
        raise click.ClickException(str(e)) from e
    database.engine.dispose()
    click.echo("Database restored; verifying the ledger and every blob ...")
    with database.new_session() as session:
        report = ledger_verify.verify(session, get_keys(), _settings(),
                                      blobs=lambda r, c, p: integrity.verify_blobs(
                                          session, store, r, c, p))
    if not report.ok:
        for problem in report.problems[:20]:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException("the restored instance fails `custody verify --blobs`")
    click.echo(f"OK: {report.events} events, {report.checkpoints} checkpoints, "
               f"{report.blobs} blobs verified.")


COMMANDS = (backup_group,)
