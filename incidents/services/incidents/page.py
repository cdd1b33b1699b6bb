"""What the incident and case forms pick from, as one read each: submissions and their items
(the review queue's filters), incidents, and the form's values in the display zone.

Reviewers choose by what they recognise (place, date, status, kind of file), never by
typing ids; the lists are filtered on the server from plain query parameters, so the
pickers work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.core.errors import InvalidInput
from incidents.models import (
    EvidenceItem,
    EvidenceKind,
    Incident,
    Submission,
    TimePrecision,
    User,
)
from incidents.services.incidents.changes import require_reviewer
from incidents.services.incidents.precision import precision_cap
from incidents.services.research.public import LocationPrecision
from incidents.services.review.queue import QueueFilters, parse_queue_filters, queue, queue_name
from storage.crypto.keys import KeyProvider

PICK_PREFIX = "pick_"  # the pickers' filter fields, apart from the incident's own `place`
PICK_LIMIT = 100
FILTER_NAMES = ("status", "from", "to", "place", "category", "q")


@dataclass(frozen=True)
class ItemChoice:
    public_id: str
    kind: str  # "testimony", "image", "video", "audio" or "file": what the reviewer sees
    size: int
    received_at: datetime
    chosen: bool


@dataclass(frozen=True)
class SubmissionChoice:
    public_id: str
    place_id: str | None
    occurred_at: datetime | None
    date_only: bool
    queue: str
    received_at: datetime
    incidents: int  # how many incidents it is already part of
    items: tuple[ItemChoice, ...]
    chosen: bool


@dataclass(frozen=True)
class IncidentChoice:
    public_id: str
    title: str
    place_id: str | None
    start_utc: datetime | None
    date_only: bool
    published: bool
    submissions: int
    items: tuple[ItemChoice, ...]
    chosen: bool


@dataclass(frozen=True)
class PickerFilters:
    """The pickers' filters as typed (shown back in the form) and as the queue takes them."""

    typed: dict[str, str]
    queue: QueueFilters
    text: str = ""


@dataclass(frozen=True)
class FormPage:
    filters: PickerFilters
    submissions: tuple[SubmissionChoice, ...]
    values: dict[str, Any] = field(default_factory=dict)


def picker_filters(params: Mapping[str, Any]) -> PickerFilters:
    """`pick_status`, `pick_from`, `pick_to`, `pick_place`, `pick_category`, `pick_q`; a bad
    one is a 400 naming its own field."""
    typed = {name: str(params.get(PICK_PREFIX + name) or "").strip()[:64]
             for name in FILTER_NAMES}
    try:
        filters = parse_queue_filters(typed)
    except InvalidInput as e:
        e.field = PICK_PREFIX + (e.field or "status")
        e.params = {**e.params, "name": e.field}
        raise
    return PickerFilters(typed, filters, typed["q"].casefold())


def _item_kind(item: EvidenceItem) -> str:
    if item.kind is EvidenceKind.TESTIMONY:
        return "testimony"
    major = (item.declared_type or "").split("/")[0]
    return major if major in ("image", "video", "audio") else "file"


def _item(item: EvidenceItem, chosen: set[str]) -> ItemChoice:
    return ItemChoice(item.public_id, _item_kind(item), item.size, item.received_at,
                      item.public_id in chosen)


def _submission(submission: Submission, chosen: set[str], chosen_items: set[str],
                linked: int) -> SubmissionChoice:
    return SubmissionChoice(
        submission.public_id, submission.place_id, submission.occurred_at,
        submission.date_only, queue_name(submission.status), submission.created_at, linked,
        tuple(_item(i, chosen_items) for i in submission.items),
        submission.public_id in chosen)


def submission_choices(session: Session, keys: KeyProvider, user: User,
                       filters: PickerFilters, *, chosen: Sequence[str] = (),
                       chosen_items: Sequence[str] = (), exclude: Iterable[str] = (),
                       zone: str = "Asia/Almaty") -> tuple[SubmissionChoice, ...]:
    """The chosen submissions first (whatever the filters), then those matching them."""
    require_reviewer(user)
    wanted, wanted_items = set(chosen), set(chosen_items)
    left_out = set(exclude)
    found: dict[str, Submission] = {}
    ids = list(dict.fromkeys([*chosen, *_owners(session, chosen_items)]))
    for public_id in ids:
        row = session.scalar(select(Submission).where(Submission.public_id == public_id))
        if row is not None and row.public_id not in left_out:
            found[row.public_id] = row
    for listed in queue(session, keys, user, filters.queue, zone=zone, limit=PICK_LIMIT):
        if listed.submission.public_id not in left_out:
            found.setdefault(listed.submission.public_id, listed.submission)
    counts = _incident_counts(session, [s.id for s in found.values()])
    return tuple(_submission(s, wanted, wanted_items, counts.get(s.id, 0))
                 for s in found.values())


def _owners(session: Session, item_ids: Sequence[str]) -> list[str]:
    if not item_ids:
        return []
    return list(session.scalars(
        select(Submission.public_id).join(EvidenceItem, EvidenceItem.submission_id
                                          == Submission.id)
        .where(EvidenceItem.public_id.in_(list(item_ids)))))


def _incident_counts(session: Session, submission_ids: list[int]) -> dict[int, int]:
    if not submission_ids:
        return {}
    rows = session.execute(
        select(Submission.id, func.count(Incident.id)).select_from(Incident)
        .join(Incident.submissions)
        .where(Submission.id.in_(submission_ids), Incident.merged_into_id.is_(None))
        .group_by(Submission.id))
    return {submission_id: int(count) for submission_id, count in rows}


def form_page(session: Session, keys: KeyProvider, user: User, params: Mapping[str, Any], *,
              chosen: Sequence[str], chosen_items: Sequence[str], zone: str,
              values: dict[str, Any] | None = None) -> FormPage:
    """The new-incident form: its pickers, and its values (from the chosen submissions when
    `values` is None, as the form was sent otherwise)."""
    require_reviewer(user)
    filters = picker_filters(params)
    choices = submission_choices(session, keys, user, filters, chosen=chosen,
                                 chosen_items=chosen_items, zone=zone)
    if values is None:
        picked = [row for row in (session.scalar(select(Submission).where(
            Submission.public_id == public_id)) for public_id in chosen) if row is not None]
        values = values_from_submissions(picked, ZoneInfo(zone))
    return FormPage(filters, choices, values)


def split_local(moment: datetime | None, zone: ZoneInfo, date_only: bool
                ) -> tuple[str, str]:
    """A stored UTC moment as the form's date and time fields on the clock of `zone`."""
    if moment is None:
        return "", ""
    local = moment.astimezone(zone)
    return local.date().isoformat(), "" if date_only else local.strftime("%H:%M")


def values_from_submissions(submissions: Sequence[Submission], zone: ZoneInfo
                            ) -> dict[str, Any]:
    """A starting point for the form from the submissions' clear fields: the earliest time."""
    first = submissions[0] if submissions else None
    timed = sorted((s for s in submissions if s.occurred_at), key=lambda s: s.occurred_at
                   or datetime.min.replace(tzinfo=UTC))
    earliest = timed[0] if timed else None
    date_only = earliest is None or earliest.date_only
    start_date, start_time = split_local(earliest.occurred_at if earliest else None, zone,
                                         date_only)
    precision = (TimePrecision.UNKNOWN if date_only or earliest is None
                 else earliest.time_precision)
    return {
        "start_date": start_date, "start_time": start_time, "time_precision": precision.value,
        "place": first.place_id if first and first.place_id else "",
        # With nothing picked yet, a town: the common case, and never finer than most allow.
        "location_precision": (precision_cap(submissions) if submissions
                               else LocationPrecision.TOWN).value,
        "categories": sorted({c for s in submissions for c in s.categories}),
        "tags": sorted({t for s in submissions for t in s.tags}),
    }


def values_from_incident(incident: Incident, zone: ZoneInfo, description: str
                         ) -> dict[str, Any]:
    """The edit form's values: times on the clock of `zone`, a date alone when only the date
    is known; `description` is the opened sealed text (`description_for_edit`)."""
    # A date alone only when the stored moment is that day's midnight: an incident made
    # through the API may say "time not known" with a time, which saving the form must not
    # silently move to midnight (the form then asks to clear the time or say how exact).
    start_date, start_time = split_local(incident.start_utc, zone,
                                         _date_only(incident, incident.start_utc, zone))
    end_date, end_time = split_local(incident.end_utc, zone,
                                     _date_only(incident, incident.end_utc, zone))
    return {
        "title": incident.title, "description": description,
        "summary": incident.summary or "", "start_date": start_date, "start_time": start_time,
        "end_date": end_date, "end_time": end_time,
        "time_precision": incident.time_precision.value, "place": incident.place_id or "",
        "location_precision": incident.location_precision.value,
        "categories": incident.categories, "tags": incident.tags,
        "injured": incident.injured, "detained": incident.detained, "killed": incident.killed,
        "verification": incident.verification.value,
    }


def _date_only(incident: Incident, moment: datetime | None, zone: ZoneInfo) -> bool:
    if incident.time_precision is not TimePrecision.UNKNOWN or moment is None:
        return False
    return moment.astimezone(zone).time() == time(0)


def incident_choices(session: Session, user: User, filters: PickerFilters, *,
                     exclude: Iterable[str] = (), chosen: Sequence[str] = (),
                     chosen_items: Sequence[str] = (), zone: str = "Asia/Almaty"
                     ) -> tuple[IncidentChoice, ...]:
    """Unmerged incidents matching the filters (words of the title, place, dates), newest
    first, with their items; `exclude` leaves some out (those already in a case)."""
    require_reviewer(user)
    tz = ZoneInfo(zone)
    left_out, wanted, wanted_items = set(exclude), set(chosen), set(chosen_items)
    query = (select(Incident).where(Incident.merged_into_id.is_(None))
             .order_by(Incident.start_utc.desc(), Incident.id.desc()))
    queue_filters = filters.queue
    if queue_filters.date_from:
        query = query.where(Incident.start_utc >= _midnight(queue_filters.date_from, tz))
    if queue_filters.date_to:
        query = query.where(Incident.start_utc
                            < _midnight(queue_filters.date_to + timedelta(days=1), tz))
    if queue_filters.place:
        query = query.where((Incident.place_id == queue_filters.place)
                            | (Incident.region_id == queue_filters.place))
    found: list[IncidentChoice] = []
    for incident in session.scalars(query):
        if incident.public_id in left_out:
            continue
        # Cyrillic needs Python's casefold: SQLite's lower() folds ASCII only.
        if filters.text and filters.text not in incident.title.casefold():
            continue
        if queue_filters.category and queue_filters.category not in incident.categories:
            continue
        found.append(IncidentChoice(
            incident.public_id, incident.title, incident.place_id, incident.start_utc,
            incident.time_precision is TimePrecision.UNKNOWN, incident.published,
            len(incident.submissions), tuple(_item(i, wanted_items) for i in incident.items),
            incident.public_id in wanted))
        if len(found) >= PICK_LIMIT:
            break
    return tuple(found)


def items_to_pick(incidents: Iterable[Incident], exclude: Iterable[str] = ()
                  ) -> list[tuple[str, tuple[ItemChoice, ...]]]:
    """Each incident's title and those of its items not in `exclude` (a case's own)."""
    left_out = set(exclude)
    found = [(i.title, tuple(_item(item, set()) for item in i.items
                             if item.public_id not in left_out)) for i in incidents]
    return [(title, items) for title, items in found if items]


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)
