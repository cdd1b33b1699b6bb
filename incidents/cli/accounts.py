"""Instance, account, invitation and token commands: `init`, `create-admin`, `invite`, `token`."""

from __future__ import annotations

import sys

import click

from incidents.cli.errors import domain_errors
from incidents.cli.vault import how_to_unseal, print_shares, seal_pending_backlog
from incidents.core.vocabulary import Role
from incidents.services import accounts, custody_state, instance, invitations, tokens, vault
from incidents.web import evidence
from incidents.web.context import account_policy as _policy
from incidents.web.context import keys_or_none
from incidents.web.context import settings as _settings
from incidents.web.db import get_db


@click.command("init")
@click.option("--shares", default=1, show_default=True, type=click.IntRange(1, 16),
              help="recovery shares to split the vault's unseal key into")
@click.option("--threshold", default=1, show_default=True, type=click.IntRange(1, 16),
              help="how many shares unseal the vault")
@click.option("--passphrase", "use_passphrase", is_flag=True,
              help="unseal with a passphrase read from stdin instead of shares")
def init_command(shares: int, threshold: int, use_passphrase: bool) -> None:
    """Create the database schema, the instance secret and the keys, where absent.

    A new vault's unseal key is printed once as recovery shares (lines starting
    `recovery share:`) and, if the key agent is running and enough shares exist, given to it
    so that the new instance starts unsealed. Nothing on disk opens the vault.
    """
    if threshold > shares:
        raise click.BadParameter("the threshold cannot exceed the number of shares")
    if threshold == 1 and shares > 1:
        raise click.BadParameter("a threshold of 1 allows only one share")
    passphrase = None
    if use_passphrase:
        passphrase = sys.stdin.readline().strip()
        if len(passphrase) < _settings().passphrase_min_length:
            raise click.BadParameter("the passphrase on stdin is too short", param_hint="stdin")
    result = instance.initialise(_settings(), shares=shares, threshold=threshold,
                                 passphrase=passphrase)
    click.echo("created: " + ", ".join(result.created) if result.created
               else "instance already initialised")
    if result.vault is not None:
        # The app was created before the keys existed: wire the evidence store now.
        evidence.reopen()
        print_shares(result.vault)
    _hand_to_agent(result.vault, passphrase)
    # An instance upgraded from before the state replay: commit its state once (logged).
    with get_db().new_session() as session:
        written = custody_state.baseline(session)
    if written:
        click.echo(f"custody baseline: {written} event(s) commit the existing state")
    # An instance upgraded across migration 0013: seal the text it kept in the clear.
    sealed_now = seal_pending_backlog()
    if sealed_now:
        click.echo(f"sealed {sealed_now} value(s) stored in the clear before migration 0013")


def _hand_to_agent(created: vault.Recovery | None, passphrase: str | None) -> None:
    """A new vault is unsealed at once if the agent runs; an existing sealed one says how."""
    keys = keys_or_none()
    if keys is None:
        return
    state = keys.status()
    if not state["agent"]:
        click.echo("The key agent is not running: start it (`flask --app wsgi vault agent`); "
                   "the vault will be sealed until unsealed.")
        return
    if not state["sealed"]:
        click.echo("The vault is unsealed.")
        return
    if created is None:
        click.echo(how_to_unseal())
        return
    with get_db().new_session() as session:
        if passphrase is not None:
            vault.unseal_with_passphrase(session, keys, passphrase, actor=None, via="init")
        else:
            for share in created.shares[:created.threshold]:
                vault.give_share(session, keys, share, actor=None, via="init")
    click.echo("The vault is unsealed (the key agent holds its keys until it stops).")


@click.command("create-admin")
@click.argument("username")
@domain_errors
def create_admin_command(username: str) -> None:
    """Create an admin; prints a one-time passphrase to change at first sign-in."""
    with get_db().new_session() as session:
        user, one_time = accounts.create_admin(session, _policy(), username)
    click.echo(f"Admin {user.pseudonym!r} created. Sign in at /login with this one-time "
               "passphrase; you will be asked to choose your own and to set up a second factor:")
    click.echo(one_time)


@click.command("first-run-admin")
def first_run_admin_command() -> None:
    """On an instance with no users, create `admin` and print how to sign in (for `make run`)."""
    with get_db().new_session() as session:
        if accounts.list_users(session):
            click.echo("Sign in at the address below with your account.")
            return
        user, one_time = accounts.create_admin(session, _policy(), "admin")
    click.echo("First run: an administrator account was created.")
    click.echo(f"  pseudonym:            {user.pseudonym}")
    click.echo(f"  one-time passphrase:  {one_time}")
    click.echo("You will be asked to choose your own passphrase and to set up a second factor.")


@click.command("invite")
@click.option("--role", "role_name", required=True,
              type=click.Choice([role.value for role in Role]))
@click.option("--expires", default=None, help="for example 7d, 12h or 30m")
@click.option("--note", default="", help="for example the partner organisation")
@domain_errors
def invite_command(role_name: str, expires: str | None, note: str) -> None:
    """Issue an invitation; prints the token alone on the last line."""
    duration = invitations.parse_duration(expires or f"{_settings().invitation_days}d")
    with get_db().new_session() as session:
        invitation, token = invitations.create(session, role=Role(role_name),
                                               expires_in=duration, note=note)
    click.echo(f"Invitation for a {role_name}, valid until {invitation.expires_at:%Y-%m-%d %H:%M} "
               "UTC. Register at /register with:")
    click.echo(token)


@click.group("token")
def token_group() -> None:
    """Personal API tokens."""


@token_group.command("create")
@click.argument("username")
@click.option("--name", default="cli", help="a label for the token")
@domain_errors
def token_create_command(username: str, name: str) -> None:
    """Create a personal API token for any user; prints it alone on the last line."""
    with get_db().new_session() as session:
        user = accounts.find_by_pseudonym(session, username)
        _row, token = tokens.create_api_token(session, user, name)
    click.echo(f"Token for {user.pseudonym!r} ({user.role.value}). It is shown only once:")
    click.echo(token)
