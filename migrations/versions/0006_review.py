"""review: assignments, assessments, notes, info requests, incidents, cases

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 23:46:35.813680
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import incidents.models.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Made by 0003 already: reuse it (PostgreSQL must not CREATE TYPE it again).
TIME_PRECISION = sa.Enum("exact", "approximate", "unknown", name="time_precision").with_variant(
    postgresql.ENUM("exact", "approximate", "unknown", name="time_precision", create_type=False),
    "postgresql",
)
NEW_ENUMS = (
    "case_kind",
    "location_precision",
    "verification_level",
    "incident_term_kind",
    "source_reliability",
)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "prosecution", "un_communication", "sanctions_dossier", "other", name="case_kind"
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incidents.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_cases_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("public_id", name=op.f("uq_cases_public_id")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("start_utc", incidents.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_utc", incidents.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("time_precision", TIME_PRECISION, nullable=False),
        sa.Column("place_id", sa.String(length=64), nullable=True),
        sa.Column("region_id", sa.String(length=64), nullable=True),
        sa.Column(
            "location_precision",
            sa.Enum("exact", "town", "region", "none", name="location_precision"),
            nullable=False,
        ),
        sa.Column("injured", sa.Integer(), nullable=True),
        sa.Column("detained", sa.Integer(), nullable=True),
        sa.Column("killed", sa.Integer(), nullable=True),
        sa.Column(
            "verification",
            sa.Enum("reported", "corroborated", "verified", name="verification_level"),
            nullable=False,
        ),
        sa.Column("has_photo", sa.Boolean(), nullable=False),
        sa.Column("has_video", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("published_at", incidents.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", incidents.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", incidents.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_incidents_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["incidents.id"], name=op.f("fk_incidents_merged_into_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("public_id", name=op.f("uq_incidents_public_id")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_place_id"), ["place_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_published"), ["published"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_region_id"), ["region_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_start_utc"), ["start_utc"], unique=False)

    op.create_table(
        "case_incidents",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_incidents_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_case_incidents_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("case_id", "incident_id", name=op.f("pk_case_incidents")),
    )
    with op.batch_alter_table("case_incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_incidents_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "case_members",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=False),
        sa.Column("added_at", incidents.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["users.id"], name=op.f("fk_case_members_added_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_members_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_case_members")),
    )
    with op.batch_alter_table("case_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "incident_submissions",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_submissions_incident_id_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_incident_submissions_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint(
            "incident_id", "submission_id", name=op.f("pk_incident_submissions")
        ),
    )
    with op.batch_alter_table("incident_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_submissions_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "incident_terms",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("category", "tag", name="incident_term_kind"), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_terms_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", "kind", "term", name=op.f("pk_incident_terms")),
    )
    with op.batch_alter_table("incident_terms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_terms_term"), ["term"], unique=False)

    op.create_table(
        "review_assignments",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", incidents.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["users.id"],
            name=op.f("fk_review_assignments_assigned_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_review_assignments_reviewer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_review_assignments_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_review_assignments")),
    )
    with op.batch_alter_table("review_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_assignments_reviewer_id"), ["reviewer_id"], unique=False
        )

    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column(
            "reliability",
            sa.Enum("A", "B", "C", "D", "E", "F", name="source_reliability"),
            nullable=False,
        ),
        sa.Column("credibility", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", incidents.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "credibility BETWEEN 1 AND 6", name=op.f("ck_assessments_credibility_range")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["evidence_items.id"], name=op.f("fk_assessments_item_id_evidence_items")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_assessments_reviewer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessments_item_id"), ["item_id"], unique=False)

    op.create_table(
        "case_items",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_items_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["evidence_items.id"], name=op.f("fk_case_items_item_id_evidence_items")
        ),
        sa.PrimaryKeyConstraint("case_id", "item_id", name=op.f("pk_case_items")),
    )
    with op.batch_alter_table("case_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_items_item_id"), ["item_id"], unique=False)

    op.create_table(
        "incident_items",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_items_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["evidence_items.id"],
            name=op.f("fk_incident_items_item_id_evidence_items"),
        ),
        sa.PrimaryKeyConstraint("incident_id", "item_id", name=op.f("pk_incident_items")),
    )
    with op.batch_alter_table("incident_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_items_item_id"), ["item_id"], unique=False)

    op.create_table(
        "info_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("created_at", incidents.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", incidents.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer_item_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_item_id"],
            ["evidence_items.id"],
            name=op.f("fk_info_requests_answer_item_id_evidence_items"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_info_requests_requested_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_info_requests_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_info_requests")),
        sa.UniqueConstraint("public_id", name=op.f("uq_info_requests_public_id")),
    )
    with op.batch_alter_table("info_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_info_requests_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "reviewer_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", incidents.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_reviewer_notes_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["evidence_items.id"],
            name=op.f("fk_reviewer_notes_item_id_evidence_items"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_reviewer_notes_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviewer_notes")),
    )
    with op.batch_alter_table("reviewer_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reviewer_notes_submission_id"), ["submission_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reviewer_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviewer_notes_submission_id"))

    op.drop_table("reviewer_notes")
    with op.batch_alter_table("info_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_info_requests_submission_id"))

    op.drop_table("info_requests")
    with op.batch_alter_table("incident_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_items_item_id"))

    op.drop_table("incident_items")
    with op.batch_alter_table("case_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_items_item_id"))

    op.drop_table("case_items")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_item_id"))

    op.drop_table("assessments")
    with op.batch_alter_table("review_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_assignments_reviewer_id"))

    op.drop_table("review_assignments")
    with op.batch_alter_table("incident_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_terms_term"))

    op.drop_table("incident_terms")
    with op.batch_alter_table("incident_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_submissions_submission_id"))

    op.drop_table("incident_submissions")
    with op.batch_alter_table("case_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_members_user_id"))

    op.drop_table("case_members")
    with op.batch_alter_table("case_incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_incidents_incident_id"))

    op.drop_table("case_incidents")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_start_utc"))
        batch_op.drop_index(batch_op.f("ix_incidents_region_id"))
        batch_op.drop_index(batch_op.f("ix_incidents_published"))
        batch_op.drop_index(batch_op.f("ix_incidents_place_id"))

    op.drop_table("incidents")
    op.drop_table("cases")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in NEW_ENUMS:
            op.execute(f"DROP TYPE IF EXISTS {name}")
