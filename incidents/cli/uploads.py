"""`flask --app wsgi uploads ...`: housekeeping of resumable uploads."""

from __future__ import annotations

import click

from incidents.services import uploads
from incidents.web.context import get_blobstore
from incidents.web.db import get_db


@click.group("uploads")
def uploads_group() -> None:
    """Resumable (tus) uploads."""


@uploads_group.command("sweep")
def sweep_command() -> None:
    """Remove expired uploads, finished or not, and their encrypted bytes."""
    store = get_blobstore()
    with get_db().new_session() as session:
        count = uploads.sweep(session, store)
    click.echo(f"removed {count} expired upload(s)")
