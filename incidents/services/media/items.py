"""Evidence items as media jobs name them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.errors import NotFound
from incidents.models import EvidenceItem


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
