"""`flask --app wsgi actors seed`: load the reference units and facilities of
config/actors.json (each an actor like any other: sealed, with custody events naming no user,
as other operator commands do). Runs once per entry; safe to repeat."""

from __future__ import annotations

import click

from incidents.cli.errors import domain_errors
from incidents.services.actors import seed
from incidents.web.context import get_blobstore
from incidents.web.db import get_db


@click.group("actors")
def actors_group() -> None:
    """Actors: persons, units, facilities."""


@actors_group.command("seed")
@domain_errors
def seed_command() -> None:
    """Create the seeded units (with their hierarchy) and facilities not yet present."""
    with get_db().new_session() as session:
        done = seed.seed(session, get_blobstore())
    click.echo(f"{done.created} created, {done.existing} already present")
