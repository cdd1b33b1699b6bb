"""`flask --app wsgi vault ...`: the key agent, unseal (shares on stdin), seal, status, migrate."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from incidents.cli.errors import domain_errors
from incidents.services import vault
from incidents.services.evidence import backlog
from incidents.web.context import blobstore_or_none, get_keys, jobs, keys_or_none
from incidents.web.context import settings as _settings
from incidents.web.db import get_db
from storage.agent.client import SocketTransport
from storage.agent.run import main as agent_main
from storage.errors import KeyStoreError

SHARE_PREFIX = "recovery share:"


def print_shares(created: vault.Recovery) -> None:
    """The shares, each once, on a line starting `recovery share:` (what `make run` shows)."""
    if created.method == "argon2id":
        click.echo("The vault opens with the passphrase you chose; it is stored nowhere.")
        return
    count = len(created.shares)
    click.echo(f"Vault recovery shares: any {created.threshold} of these {count} unseal the "
               "vault. Give each to a different trustee and keep none on this server; they "
               "are shown only now.")
    for share in created.shares:
        click.echo(f"{SHARE_PREFIX} {share}")


def how_to_unseal() -> str:
    return ("The vault is sealed: evidence cannot be read until it is unsealed. Sign in as an "
            "admin and open /admin/vault, or run `flask --app wsgi vault unseal` and type the "
            "recovery shares (one per line). Submissions are accepted meanwhile.")


def resume_waiting() -> int:
    """Queue the media processing that waited for the vault; wait for it if run in-process."""
    with get_db().new_session() as session:
        waiting = vault.waiting_items(session)
    runner = jobs()
    for item_id in waiting:
        runner.enqueue("process_item", item_id)
    if waiting and not runner.uses_redis:
        runner.shutdown(wait=True)
    return len(waiting)


def unseal_with(shares: list[str], via: str) -> dict[str, Any]:
    """Give shares to the agent in turn (recording each); the last status."""
    keys = get_keys()
    result: dict[str, Any] = keys.status()
    with get_db().new_session() as session:
        for share in shares:
            result = vault.give_share(session, keys, share, actor=None, via=via)
            if not result["sealed"]:
                break
    return result


@click.group("vault")
def vault_group() -> None:
    """The sealed evidence vault and its key agent."""


@vault_group.command("agent")
@click.option("--socket", "socket_path", default=None, help="default: from settings")
def agent_command(socket_path: str | None) -> None:
    """Run the key agent (sealed at start) in the foreground until SIGTERM."""
    settings = _settings()
    path = settings.vault_socket_path if socket_path is None else Path(socket_path)
    status = agent_main(["--key-dir", str(settings.key_dir), "--socket", str(path),
                         "--share-ttl", str(settings.vault_share_ttl_seconds)])
    if status:
        raise click.ClickException("the key agent could not start")


@vault_group.command("unseal")
@domain_errors
def unseal_command() -> None:
    """Read recovery shares (or the passphrase) from standard input, one per line."""
    keys = get_keys()
    state = keys.status()
    if not state["agent"]:
        raise click.ClickException("the key agent is not running (flask --app wsgi vault agent)")
    if not state["sealed"]:
        click.echo("the vault is already unsealed")
        return
    lines = [line.strip() for line in sys.stdin.read().splitlines()]
    lines = [line.removeprefix(SHARE_PREFIX).strip() for line in lines if line]
    if state["method"] == "argon2id":
        if not lines:
            raise click.ClickException("no passphrase on standard input")
        with get_db().new_session() as session:
            result = vault.unseal_with_passphrase(session, keys, lines[0], actor=None, via="cli")
    else:
        result = unseal_with(lines, "cli")
    if result["sealed"]:
        raise click.ClickException(
            f"still sealed: {result.get('pending', 0)} of {state['threshold']} shares given "
            f"(they are forgotten after {_settings().vault_share_ttl_seconds // 60} minutes)")
    click.echo("vault unsealed")
    resumed = resume_waiting()
    if resumed:
        click.echo(f"processing resumed for {resumed} item(s) that waited for the vault")


@vault_group.command("seal")
@domain_errors
def seal_command() -> None:
    """Seal now: the key agent forgets the private keys and any pending share."""
    with get_db().new_session() as session:
        changed = vault.seal(session, get_keys(), actor=None, via="cli")
    click.echo("vault sealed" if changed else "the vault was already sealed")


@vault_group.command("wait")
@click.option("--timeout", default=10.0, type=float, show_default=True)
def wait_command(timeout: float) -> None:
    """Wait until the key agent answers on its socket (for scripts such as `make run`)."""
    transport = SocketTransport(_settings().vault_socket_path)
    deadline = time.monotonic() + timeout
    while True:
        try:
            transport({"v": 1, "op": "status"})
            return
        except KeyStoreError as e:
            if time.monotonic() > deadline:
                raise click.ClickException("the key agent does not answer") from e
            time.sleep(0.1)


@vault_group.command("status")
@domain_errors
def status_command() -> None:
    """Sealed or unsealed, how it unseals, how many shares are pending."""
    keys = keys_or_none()
    if keys is None:
        raise click.ClickException("no vault keys yet (flask --app wsgi init)")
    state = keys.status()
    click.echo("sealed" if state["sealed"] else "unsealed")
    click.echo(f"key agent: {'running' if state['agent'] else 'NOT RUNNING'}")
    if state["method"] == "slip39":
        click.echo(f"unseals with: {state['threshold']} of {state['shares']} recovery shares")
    else:
        click.echo("unseals with: the operator's passphrase")
    click.echo(f"pending shares: {state['pending']}")
    if state["pending"]:
        click.echo(f"pending shares expire in: {state['pending_expires_in']} s")


@vault_group.command("seal-backlog")
def seal_backlog_command() -> None:
    """Seal the text stored in the clear before migration 0013 (run by `init`).

    File names, reviewer notes, assessment reasons, questions and case and incident
    descriptions become sealed blobs (vault public key only: works while sealed), then the
    SQLite file is compacted so that the old clear text leaves it."""
    done = seal_pending_backlog()
    click.echo(f"sealed {done} value(s) stored in the clear before migration 0013"
               if done else "nothing left to seal")


def seal_pending_backlog() -> int:
    """`vault seal-backlog`'s work; `init` calls it too. Fails if values wait and no vault
    keys exist (restore the key directory first)."""
    with get_db().new_session() as session:
        if not backlog.pending(session):
            return 0
        store = blobstore_or_none()
        if store is None:
            raise click.ClickException(
                "values stored in the clear before migration 0013 wait to be sealed, but "
                "the vault keys are missing: restore the key directory, then run "
                "`flask --app wsgi vault seal-backlog`")
        return backlog.seal_backlog(session, store)


@vault_group.command("migrate")
@click.option("--shares", default=1, show_default=True, type=click.IntRange(1, 16))
@click.option("--threshold", default=1, show_default=True, type=click.IntRange(1, 16))
@click.option("--passphrase", "use_passphrase", is_flag=True,
              help="unseal with a passphrase (read from stdin) instead of shares")
def migrate_command(shares: int, threshold: int, use_passphrase: bool) -> None:
    """Move an old key directory (master.key) to sealed keys; removes master.key.

    An old passphrase-protected directory reads that passphrase from the first line of
    standard input; with --passphrase the new one is the next line.
    """
    settings = _settings()
    if not vault.needs_migration(settings.key_dir):
        raise click.ClickException("nothing to migrate: the key directory is not in the old "
                                   "format")
    with_master_key = vault.has_master_key(settings.key_dir)
    lines = iter(line.strip() for line in sys.stdin.read().splitlines()) if (
        use_passphrase or not with_master_key) else iter(())
    old = None if with_master_key else next(lines, None)
    new = next(lines, None) if use_passphrase else None
    if use_passphrase and not new:
        raise click.ClickException("no new passphrase on standard input")
    try:
        created = vault.migrate(settings.key_dir, old_passphrase=old, shares=shares,
                                threshold=threshold, passphrase=new)
    except vault.MigrationFailed as e:
        raise click.ClickException(str(e)) from e
    click.echo("key directory migrated; master.key removed. Remove INCIDENTS_KEY_PASSPHRASE "
               "from the service's environment if it was set, and treat old backups of the "
               "key directory as exposed.")
    print_shares(created)
