"""research: indexes for the researchers' timeline (cache version, sort orders)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 00:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # max(updated_at) / max(published_at) key the aggregate cache on every timeline request
    # (incidents.services.research.aggregates.data_version): one index probe each, not a table scan.
    op.create_index("ix_incidents_updated_at", "incidents", ["updated_at"])
    op.create_index("ix_incidents_published_at", "incidents", ["published_at"])
    # The default order (start, then public id) read straight from an index.
    op.create_index("ix_incidents_start_utc_public_id", "incidents",
                    ["start_utc", "public_id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_start_utc_public_id", table_name="incidents")
    op.drop_index("ix_incidents_published_at", table_name="incidents")
    op.drop_index("ix_incidents_updated_at", table_name="incidents")
