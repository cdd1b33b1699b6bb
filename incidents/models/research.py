"""Indexes the researchers' timeline needs on `incidents` (migration 0007).

Declared here, beside the reviewers' model rather than in it, so that the metadata Alembic
compares with the database knows them too.
"""

from __future__ import annotations

from sqlalchemy import Index, Table

from incidents.models.incidents import Incident

_TABLE: Table = Incident.__table__  # type: ignore[assignment]

RESEARCH_INDEXES = (
    # max() of these keys the aggregate cache on every timeline request
    # (incidents.services.research.aggregates.data_version): an index probe, not a table scan.
    Index("ix_incidents_updated_at", _TABLE.c.updated_at),
    Index("ix_incidents_published_at", _TABLE.c.published_at),
    # The default order (start, then public id), read straight from an index.
    Index("ix_incidents_start_utc_public_id", _TABLE.c.start_utc, _TABLE.c.public_id),
)
