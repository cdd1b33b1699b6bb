"""sealed texts: file names, reviewers' notes, reasons, questions, case and incident descriptions

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-03 08:00:00

Each clear column is replaced by a `<name>_blob_id` column (a sealed JSON blob, read through
the custody ledger; services.evidence.sealed); a tus upload's declared name by
`pending_name` (services.uploads.PendingName). Sealing writes blobs and "stored" custody
events, which a migration cannot do (no blob store, no ledger append path and lock; the
same reason as 0008's `custody baseline`): so every existing clear value is moved into
`sealing_backlog` here, and `flask --app wsgi vault seal-backlog` (run by `flask --app wsgi
init`) seals them and compacts the SQLite file. Until it has run, those values are not
shown (an empty text) and stay in the clear in `sealing_backlog` only.
Testimony items' names were the server's own ("testimony.txt", "answer.txt"): not kept.

Downgrade restores the columns empty: the texts stay in their blobs, not in the clear
(SQLite keeps the emptied `*_blob_id` columns: see `downgrade`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None

# (table, clear column, its type for downgrade, new column, rows to take)
MOVES = (
    ("evidence_items", "declared_name", sa.String(255), "name_blob_id", "kind = 'file'"),
    ("assessments", "reason", sa.Text(), "reason_blob_id", None),
    ("reviewer_notes", "body", sa.Text(), "body_blob_id", None),
    ("info_requests", "question", sa.Text(), "question_blob_id", None),
    ("cases", "description", sa.Text(), "description_blob_id", None),
    ("incidents", "description", sa.Text(), "description_blob_id", None),
)


def _add_blob_column(table: str, column: str) -> None:
    """A nullable column referring to blobs.id. SQLite: ALTER TABLE (3.35+), not a batch
    copy: copying a table other rows refer to (incidents, evidence_items) fails its DROP
    under `PRAGMA foreign_keys=ON` as soon as rows exist."""
    name = op.f(f"fk_{table}_{column}_blobs")
    if op.get_bind().dialect.name == "sqlite":
        existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
        if column in existing:  # left by a downgrade (see there): emptied, reused
            return
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(32) "
                   f"CONSTRAINT {name} REFERENCES blobs (id)")
        return
    op.add_column(table, sa.Column(column, sa.String(length=32), nullable=True))
    op.create_foreign_key(name, table, "blobs", [column], ["id"])


def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # SQLite 3.35+, no copy
        return
    op.drop_column(table, column)


def upgrade() -> None:
    op.create_table(
        "sealing_backlog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("column", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sealing_backlog")),
    )
    for table, old, _kind, new, where in MOVES:
        condition = f"{old} IS NOT NULL AND {old} <> ''" + (f" AND {where}" if where else "")
        op.execute(
            f'INSERT INTO sealing_backlog (table_name, row_id, "column", value) '  # noqa: S608
            f"SELECT '{table}', id, '{new}', {old} FROM {table} WHERE {condition}")
        _add_blob_column(table, new)
        _drop_column(table, old)
    op.execute(
        'INSERT INTO sealing_backlog (table_name, row_id, "column", value) '
        "SELECT 'uploads', id, 'pending_name', filename FROM uploads "
        "WHERE filename IS NOT NULL AND filename <> ''")
    op.add_column("uploads", sa.Column("pending_name", sa.JSON(), nullable=True))
    _drop_column("uploads", "filename")


def downgrade() -> None:
    op.add_column("uploads", sa.Column("filename", sa.String(255), nullable=False,
                                       server_default=""))
    _drop_column("uploads", "pending_name")
    for table, old, kind, new, _where in reversed(MOVES):
        op.add_column(table, sa.Column(old, kind, nullable=False, server_default=""))
        if op.get_bind().dialect.name == "sqlite":
            # SQLite cannot drop a column with a REFERENCES clause in place, and copying a
            # table others refer to fails under foreign_keys=ON (which cannot be switched
            # off inside the migration's transaction): the column stays, emptied, unknown
            # to the older code; upgrading again reuses it.
            op.execute(f"UPDATE {table} SET {new} = NULL")  # noqa: S608
        else:
            op.drop_constraint(op.f(f"fk_{table}_{new}_blobs"), table, type_="foreignkey")
            op.drop_column(table, new)
    op.drop_table("sealing_backlog")
