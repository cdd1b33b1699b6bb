"""Alembic environment: the URL comes from the settings, the metadata from the models."""

from __future__ import annotations

from alembic import context

from incidents import models  # noqa: F401  (registers every table on Base.metadata)
from incidents.core.database import make_engine
from incidents.core.settings import Settings
from incidents.models.base import Base

config = context.config
url = config.attributes.get("database_url") or Settings.load().effective_database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, render_as_batch=True,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
