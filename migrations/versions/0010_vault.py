"""vault: what intake needs while the vault is sealed (upload commitments, witness receipts)

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The salted commitment of a finished tus upload, computed while its plaintext hash was
    # in memory: claiming the upload for a submission then needs no vault private key.
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("commitment", sa.String(64), nullable=True))
    # Each item's SHA-256 and salt, encrypted under a key only the witness holds (their
    # receipt key): the receipt can be shown while the vault is sealed.
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("sealed_receipt", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("sealed_receipt")
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("commitment")
