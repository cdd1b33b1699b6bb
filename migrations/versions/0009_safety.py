"""safety: one credential throttle per account, server-side second step, token expiry

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.models.types

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credential_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("blocked_until", incidents.models.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("last_attempt_at", incidents.models.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_credential_throttles")),
    )
    with op.batch_alter_table("credential_throttles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_throttles_last_attempt_at"),
                              ["last_attempt_at"], unique=False)
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at",
                                      incidents.models.types.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_column("pending")
    with op.batch_alter_table("credential_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_throttles_last_attempt_at"))
    op.drop_table("credential_throttles")
