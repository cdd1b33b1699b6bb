"""safety: credential throttle, server-side second step, token expiry, pseudonym skeletons

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.models.types
from incidents.services import pseudonyms

revision = "0009"
down_revision = "0011"
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
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pseudonym_skeleton", sa.String(length=200),
                                      nullable=True))
        batch_op.create_index(batch_op.f("ix_users_pseudonym_skeleton"),
                              ["pseudonym_skeleton"], unique=False)
    # Existing names get their TR39 skeleton, so new look-alikes of them are refused too.
    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("pseudonym", sa.String),
                     sa.column("pseudonym_skeleton", sa.String))
    for user_id, pseudonym in connection.execute(sa.select(users.c.id, users.c.pseudonym)):
        connection.execute(users.update().where(users.c.id == user_id)
                           .values(pseudonym_skeleton=pseudonyms.skeleton(pseudonym)))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_pseudonym_skeleton"))
        batch_op.drop_column("pseudonym_skeleton")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_column("pending")
    with op.batch_alter_table("credential_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_throttles_last_attempt_at"))
    op.drop_table("credential_throttles")
