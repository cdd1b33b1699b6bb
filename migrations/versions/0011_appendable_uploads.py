"""uploads: appendable blobs (one encrypted blob per upload, resumable across processes)

Existing rows are segment uploads and keep working as before (``format`` = "segments").

Revision ID: 0011
Revises: 0012
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.models.types

revision = "0011"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("format", sa.String(length=16), nullable=False,
                                      server_default="segments"))
        batch_op.add_column(sa.Column("sealed_state", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("backend_state", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("writer", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column(
            "writer_seen", incidents.models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_column("writer_seen")
        batch_op.drop_column("writer")
        batch_op.drop_column("backend_state")
        batch_op.drop_column("sealed_state")
        batch_op.drop_column("format")
