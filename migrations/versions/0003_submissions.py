"""submissions and their evidence items

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.models.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUS = ("received", "in_review", "needs_info", "used_in_incident", "accepted", "rejected")


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum(*STATUS, name="submission_status"), nullable=False),
        sa.Column("occurred_at", incidents.models.types.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column("time_precision", sa.Enum("exact", "approximate", "unknown",
                                            name="time_precision"), nullable=False),
        sa.Column("date_only", sa.Boolean(), nullable=False),
        sa.Column("place_id", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("place_withheld", sa.Boolean(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("injured", sa.Integer(), nullable=True),
        sa.Column("detained", sa.Integer(), nullable=True),
        sa.Column("killed", sa.Integer(), nullable=True),
        sa.Column("consent_legal", sa.Boolean(), nullable=False),
        sa.Column("consent_research", sa.Boolean(), nullable=False),
        sa.Column("consent_publication", sa.Boolean(), nullable=False),
        sa.Column("consent_contact", sa.Boolean(), nullable=False),
        sa.Column("sealed_metadata_blob_id", sa.String(length=32), nullable=True),
        sa.Column("has_point", sa.Boolean(), nullable=False),
        sa.Column("created_at", incidents.models.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"],
                                name=op.f("fk_submissions_owner_id_users")),
        sa.ForeignKeyConstraint(["sealed_metadata_blob_id"], ["blobs.id"],
                                name=op.f("fk_submissions_sealed_metadata_blob_id_blobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_submissions_public_id")),
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submissions_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_submissions_place_id"), ["place_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_submissions_region"), ["region"], unique=False)
    op.create_table(
        "evidence_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("testimony", "file", name="evidence_kind"), nullable=False),
        sa.Column("blob_id", sa.String(length=32), nullable=False),
        sa.Column("declared_name", sa.String(length=255), nullable=False),
        sa.Column("declared_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received_at", incidents.models.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(["blob_id"], ["blobs.id"],
                                name=op.f("fk_evidence_items_blob_id_blobs")),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"],
                                name=op.f("fk_evidence_items_submission_id_submissions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_items")),
        sa.UniqueConstraint("blob_id", name=op.f("uq_evidence_items_blob_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_evidence_items_public_id")),
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_items_submission_id"), ["submission_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_items_submission_id"))
    op.drop_table("evidence_items")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_region"))
        batch_op.drop_index(batch_op.f("ix_submissions_place_id"))
        batch_op.drop_index(batch_op.f("ix_submissions_owner_id"))
    op.drop_table("submissions")
    bind = op.get_bind()
    for name in ("evidence_kind", "time_precision", "submission_status"):
        sa.Enum(name=name).drop(bind, checkfirst=True)
