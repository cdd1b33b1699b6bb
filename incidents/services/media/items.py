"""Evidence items as media jobs name them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.errors import NotFound
from incidents.models import EvidenceItem, EvidenceKind, MediaProcessing


def find_item(session: Session, item_id: int | str) -> EvidenceItem:
    """An item by database id (int) or public id (str, as queued after a submission)."""
    if isinstance(item_id, int):
        item = session.get(EvidenceItem, item_id)
    else:
        item = session.scalars(select(EvidenceItem).where(EvidenceItem.public_id == item_id)
                               ).first()
    if item is None:
        raise NotFound()
    return item


def never_started(session: Session, older_than: timedelta) -> list[str]:
    """Public ids of file items received more than `older_than` ago whose processing never
    started (no row at all): queued and still waiting, or never queued because the web
    process died between its commit and its enqueue."""
    rows = session.scalars(
        select(EvidenceItem.public_id)
        .outerjoin(MediaProcessing, MediaProcessing.item_id == EvidenceItem.id)
        .where(EvidenceItem.kind == EvidenceKind.FILE, MediaProcessing.item_id.is_(None),
               EvidenceItem.received_at < utcnow() - older_than)
        .order_by(EvidenceItem.id)).all()
    session.rollback()
    return list(rows)
