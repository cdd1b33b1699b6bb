"""Wire the evidence store into the application, and sign checkpoints: a background
signer per process (`checkpoint_signer_seconds`), woken after each request that appended."""

from __future__ import annotations

from flask import Flask

from incidents.core.database import Database
from incidents.core.settings import Settings
from incidents.services.evidence.store import (
    checkpoint_if_due,
    keys_outdated,
    make_transport,
    open_store,
)
from incidents.services.signer import CheckpointSigner
from incidents.web import context


def init_app(app: Flask, settings: Settings, database: Database) -> None:
    transport, vault = make_transport(settings)
    if vault is not None:  # tests: the vault in this process (settings.vault_agent)
        context.register(app, "vault", vault)
    opened = open_store(settings, database, transport)
    if opened is None:
        # No keys yet (until `flask --app wsgi init`), or old ones (until `vault migrate`):
        # evidence routes answer 503 meanwhile.
        context.register(app, "keys_outdated", keys_outdated(settings))
        return
    keys, store = opened
    context.register(app, "keys", keys)
    context.register(app, "blobstore", store)
    signer: CheckpointSigner | None = None
    if settings.checkpoint_signer_seconds > 0:
        signer = CheckpointSigner(database, keys, settings, settings.checkpoint_signer_seconds)
        context.register(app, "checkpoint_signer", signer)

        @app.before_request
        def _start_signer() -> None:
            # Started on the first request of each process (a web worker forked by
            # gunicorn gets its own), not in the factory: the factory only wires.
            signer.ensure_running()

    @app.teardown_request
    def _checkpoint_if_due(exc: BaseException | None) -> None:
        if exc is None:
            checkpoint_if_due(database, keys, settings)


def reopen() -> None:
    """`flask init` made the keys after this app started: wire the evidence store now."""
    init_app(context.application(), context.settings(), context.database())
