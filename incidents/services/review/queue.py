"""The review queue: its states, filters and rows (near-duplicates found by sealed pHash)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from incidents.core.errors import N_, Forbidden, InvalidInput
from incidents.models import (
    EvidenceItem,
    EvidenceKind,
    MediaPhash,
    ReviewAssignment,
    Submission,
    SubmissionStatus,
    User,
)
from incidents.services.access import STAFF
from incidents.services.media import phash as phashes
from incidents.services.media.duplicates import unseal_phash
from storage.crypto.keys import KeyProvider
from storage.errors import KeyStoreError

# Queue names (what reviewers see) -> the Submission status values they cover.
QUEUE_STATES: dict[str, tuple[SubmissionStatus, ...]] = {
    "new": (SubmissionStatus.RECEIVED,),
    "in_review": (SubmissionStatus.IN_REVIEW,),
    "needs_info": (SubmissionStatus.NEEDS_INFO,),
    "accepted": (SubmissionStatus.ACCEPTED, SubmissionStatus.USED_IN_INCIDENT),
    "rejected": (SubmissionStatus.REJECTED,),
}


QUEUE_LIMIT = 200


def require_reviewer(user: User) -> None:
    if user.role not in STAFF:
        raise Forbidden()


def queue_name(status: SubmissionStatus) -> str:
    return next(name for name, values in QUEUE_STATES.items() if status in values)


@dataclass(frozen=True)
class QueueFilters:
    state: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    place: str | None = None  # a place id or a region id
    category: str | None = None
    has_media: bool | None = None
    near_duplicate: bool | None = None
    mine: bool = False


def _flag(value: str | None, name: str) -> bool | None:
    if value in (None, ""):
        return None
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name)


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name) from e


def _short_id(value: str | None, name: str) -> str | None:
    if not value:
        return None
    if len(value) > 64 or not value.replace("_", "").isalnum() or not value.isascii():
        raise InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name)
    return value


def parse_queue_filters(params: Mapping[str, Any]) -> QueueFilters:
    state = params.get("status") or None
    if state is not None and state not in QUEUE_STATES:
        raise InvalidInput(N_("The field %(name)s is not valid."), field="status", name="status")
    return QueueFilters(
        state=state, date_from=_day(params.get("from"), "from"),
        date_to=_day(params.get("to"), "to"), place=_short_id(params.get("place"), "place"),
        category=_short_id(params.get("category"), "category"),
        has_media=_flag(params.get("has_media"), "has_media"),
        near_duplicate=_flag(params.get("near_duplicate"), "near_duplicate"),
        mine=params.get("mine") in ("1", "true", "on"))


@dataclass(frozen=True)
class QueueRow:
    submission: Submission
    queue: str
    assignee: str | None
    items: int
    has_media: bool
    near_duplicate: bool


def submissions_with_near_duplicates(session: Session, keys: KeyProvider,
                                     max_distance: int = phashes.DEFAULT_NEAR_DISTANCE
                                     ) -> set[int]:
    """Ids of submissions holding a picture within `max_distance` bits of one in another.

    Unseals every stored hash once and compares pairs: fine for thousands of pictures.
    """
    hashes: list[tuple[int, int]] = []
    rows = session.execute(select(MediaPhash, EvidenceItem.submission_id)
                           .join(EvidenceItem, EvidenceItem.id == MediaPhash.item_id))
    for row, submission_id in rows:
        try:
            hashes.append((submission_id, unseal_phash(keys, row)))
        except KeyStoreError:
            continue
    found: set[int] = set()
    for i, (sub_a, hash_a) in enumerate(hashes):
        for sub_b, hash_b in hashes[i + 1:]:
            if sub_a != sub_b and phashes.hamming(hash_a, hash_b) <= max_distance:
                found.update((sub_a, sub_b))
    return found


def queue(session: Session, keys: KeyProvider, user: User, filters: QueueFilters, *,
          zone: str = "Asia/Almaty", limit: int = QUEUE_LIMIT) -> list[QueueRow]:
    """Submissions for review, newest first, with the filters applied."""
    require_reviewer(user)
    media = exists().where(EvidenceItem.submission_id == Submission.id,
                           EvidenceItem.kind == EvidenceKind.FILE)
    query = select(Submission).order_by(Submission.created_at.desc(), Submission.id.desc())
    if filters.state:
        query = query.where(Submission.status.in_(QUEUE_STATES[filters.state]))
    tz = ZoneInfo(zone)
    if filters.date_from:
        query = query.where(Submission.occurred_at
                            >= datetime.combine(filters.date_from, time(0), tz).astimezone(UTC))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time(0), tz)
        query = query.where(Submission.occurred_at < end.astimezone(UTC))
    if filters.place:
        query = query.where((Submission.place_id == filters.place)
                            | (Submission.region == filters.place))
    if filters.has_media is not None:
        query = query.where(media if filters.has_media else ~media)
    if filters.mine:
        query = query.where(exists().where(ReviewAssignment.submission_id == Submission.id,
                                           ReviewAssignment.reviewer_id == user.id))
    duplicates = (submissions_with_near_duplicates(session, keys)
                  if filters.near_duplicate is not None else set())
    rows: list[QueueRow] = []
    for submission in session.scalars(query):
        if filters.category and filters.category not in submission.categories:
            continue
        is_duplicate = submission.id in duplicates
        if filters.near_duplicate is not None and is_duplicate != filters.near_duplicate:
            continue
        assignment = session.get(ReviewAssignment, submission.id)
        rows.append(QueueRow(
            submission, queue_name(submission.status),
            assignment.reviewer.pseudonym if assignment else None, len(submission.items),
            any(i.kind is EvidenceKind.FILE for i in submission.items), is_duplicate))
        if len(rows) >= limit:
            break
    return rows
