"""uploads: tus resumable uploads and their encrypted segments

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.models.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("filetype", sa.String(length=127), nullable=False),
        sa.Column(
            "state",
            sa.Enum("receiving", "finished", name="upload_state"),
            nullable=False,
        ),
        sa.Column("created_at", incidents.models.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("expires_at", incidents.models.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("blob_id", sa.String(length=32), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=True),
        sa.Column("ciphertext_sha256", sa.String(length=64), nullable=True),
        sa.Column("digest_key_id", sa.String(length=32), nullable=True),
        sa.Column("sealed_digest", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"],
                                name=op.f("fk_uploads_owner_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
        sa.UniqueConstraint("public_id", name=op.f("uq_uploads_public_id")),
        sa.UniqueConstraint("blob_id", name=op.f("uq_uploads_blob_id")),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_uploads_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "upload_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob_id", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.id"],
                                name=op.f("fk_upload_segments_upload_id_uploads"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_segments")),
        sa.UniqueConstraint("blob_id", name=op.f("uq_upload_segments_blob_id")),
        sa.UniqueConstraint("upload_id", "offset", name=op.f("uq_upload_segments_upload_id")),
    )


def downgrade() -> None:
    op.drop_table("upload_segments")
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploads_expires_at"))
        batch_op.drop_index(batch_op.f("ix_uploads_owner_id"))
    op.drop_table("uploads")
    sa.Enum(name="upload_state").drop(op.get_bind(), checkfirst=True)
