"""custody: per-subject chains (event format v2), actor commitments, statement commitments

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-02 16:00:00

Existing events keep format v1 (both new columns NULL). The one-time `baseline` events
that commit the current state of existing submissions and items are written by
`flask --app wsgi custody baseline` (run by `flask --app wsgi init`), not here: they are
ledger appends and need the application's append path and lock.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): no table copy, even on a large SQLite ledger.
    op.add_column("custody_events", sa.Column("subject_prev", sa.LargeBinary(32),
                                              nullable=True))
    op.add_column("custody_events", sa.Column("actor_salt", sa.LargeBinary(16), nullable=True))
    op.create_index("ix_custody_events_subject_seq", "custody_events", ["subject", "seq"])
    op.add_column("submissions", sa.Column("statement_salt", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("statement_salt")
    op.drop_index("ix_custody_events_subject_seq", table_name="custody_events")
    with op.batch_alter_table("custody_events") as batch:
        batch.drop_column("actor_salt")
        batch.drop_column("subject_prev")
