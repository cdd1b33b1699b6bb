"""media: processing status, flags, derivatives and sealed perceptual hashes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.models.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STATUS = sa.Enum("pending", "running", "done", "failed", name="media_status")
FLAG = sa.Enum("type_mismatch", "unsupported", "corrupt", "bomb", "parse_timeout", "polyglot",
               "empty", name="media_flag")
DERIVATIVE = sa.Enum("preview", "thumbnail", "poster", "video_preview", name="derivative_kind")


def upgrade() -> None:
    op.create_table(
        "media_processing",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("sniffed_type", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("metadata_blob_id", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", incidents.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", incidents.models.types.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column("error", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["evidence_items.id"],
                                name=op.f("fk_media_processing_item_id_evidence_items")),
        sa.ForeignKeyConstraint(["metadata_blob_id"], ["blobs.id"],
                                name=op.f("fk_media_processing_metadata_blob_id_blobs")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_media_processing")),
    )
    op.create_table(
        "media_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("flag", FLAG, nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=False),
        sa.Column("created_at", incidents.models.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["evidence_items.id"],
                                name=op.f("fk_media_flags_item_id_evidence_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_flags")),
        sa.UniqueConstraint("item_id", "flag", name=op.f("uq_media_flags_item_id")),
    )
    with op.batch_alter_table("media_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_flags_item_id"), ["item_id"], unique=False)
    op.create_table(
        "media_derivatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", DERIVATIVE, nullable=False),
        sa.Column("blob_id", sa.String(length=32), nullable=False),
        sa.Column("mime", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=120), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("created_at", incidents.models.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(["blob_id"], ["blobs.id"],
                                name=op.f("fk_media_derivatives_blob_id_blobs")),
        sa.ForeignKeyConstraint(["item_id"], ["evidence_items.id"],
                                name=op.f("fk_media_derivatives_item_id_evidence_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_derivatives")),
        sa.UniqueConstraint("blob_id", name=op.f("uq_media_derivatives_blob_id")),
        sa.UniqueConstraint("item_id", "kind", name=op.f("uq_media_derivatives_item_id")),
    )
    with op.batch_alter_table("media_derivatives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_derivatives_item_id"), ["item_id"],
                              unique=False)
    op.create_table(
        "media_phashes",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["evidence_items.id"],
                                name=op.f("fk_media_phashes_item_id_evidence_items")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_media_phashes")),
    )


def downgrade() -> None:
    op.drop_table("media_phashes")
    with op.batch_alter_table("media_derivatives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_derivatives_item_id"))
    op.drop_table("media_derivatives")
    with op.batch_alter_table("media_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_flags_item_id"))
    op.drop_table("media_flags")
    op.drop_table("media_processing")
    bind = op.get_bind()
    for enum in (DERIVATIVE, FLAG, STATUS):
        enum.drop(bind, checkfirst=True)
