"""`flask --app wsgi demo`: fill a fresh instance with clearly labelled synthetic data.

The work is `incidents.services.demo.fill`; this module prints its progress and result.
"""

from __future__ import annotations

import click

from incidents.core.errors import Conflict
from incidents.services import demo
from incidents.web.context import blobstore_or_none, settings
from incidents.web.db import get_db


@click.command("demo")
@click.option("--count", default=120, show_default=True, help="synthetic submissions to make")
@click.option("--force", is_flag=True, help="add demo data even if the instance is not fresh")
def demo_command(count: int, force: bool) -> None:
    """Fill a fresh instance with clearly labelled synthetic data ("[DEMO]")."""
    store = blobstore_or_none()
    if store is None:
        raise click.ClickException("no vault keys: run `flask --app wsgi init` first")
    if count < 1 or count > 5000:
        raise click.ClickException("--count must be from 1 to 5000")
    with get_db().new_session() as session:
        try:
            result = demo.fill(session, store, settings(), count, force=force,
                               progress=lambda items, label: click.progressbar(items,
                                                                               label=label))
        except Conflict as error:
            raise click.ClickException(error.message) from error
    click.echo(f"Demo data: {result.submissions} submissions from {demo.WITNESSES} synthetic "
               f"witnesses, {result.incidents} incidents ({result.published} published), all "
               f"marked {demo.DEMO_PREFIX}.")
    click.echo(f"Sign in as researcher {result.researcher!r} to see the timeline and map "
               "at /research/ with this passphrase:")
    click.echo(result.researcher_passphrase)
