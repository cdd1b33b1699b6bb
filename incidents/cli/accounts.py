"""Instance, account, invitation and token commands: `init`, `create-admin`, `invite`, `token`."""

from __future__ import annotations

import click

from incidents.cli.errors import domain_errors
from incidents.core.vocabulary import Role
from incidents.services import accounts, custody_state, instance, invitations, tokens
from incidents.web.context import account_policy as _policy
from incidents.web.context import settings as _settings
from incidents.web.db import get_db


@click.command("init")
def init_command() -> None:
    """Create the database schema, the instance secret and the keys, where absent."""
    created = instance.initialise(_settings())
    click.echo("created: " + ", ".join(created) if created else "instance already initialised")
    # An instance upgraded from before the state replay: commit its state once (logged).
    with get_db().new_session() as session:
        written = custody_state.baseline(session)
    if written:
        click.echo(f"custody baseline: {written} event(s) commit the existing state")


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
