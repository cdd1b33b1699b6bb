"""The `flask --app wsgi ...` commands (DESIGN §8), one module per area.

Exit 0 on success, non-zero on failure; a domain error is one line and exit 1
(`incidents.cli.errors`). `init_app` adds every command to the application's CLI.
"""

from __future__ import annotations

from flask import Flask

from incidents.cli.accounts import (
    create_admin_command,
    first_run_admin_command,
    init_command,
    invite_command,
    token_group,
)
from incidents.cli.actors import actors_group
from incidents.cli.backup import backup_group
from incidents.cli.bundles import bundle_group
from incidents.cli.custody import custody_group, keys_group
from incidents.cli.demo import demo_command
from incidents.cli.jobs import worker_command
from incidents.cli.uploads import uploads_group


def init_app(app: Flask) -> None:
    for command in (init_command, create_admin_command, first_run_admin_command,
                    invite_command, token_group, uploads_group, custody_group, bundle_group,
                    actors_group, keys_group, worker_command, demo_command, backup_group):
        app.cli.add_command(command)
