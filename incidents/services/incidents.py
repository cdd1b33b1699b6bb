"""Incidents: built by reviewers from submissions; published to researchers by decision.

Every change is a custody event on `incident:<public id>` (created, edited, merged, split,
published, unpublished); details carry ids and field names, never the reviewer's text.
The location precision is capped at what the linked witnesses' reports allow
(`allowed_precision`, combined with `coarsest`). Researchers only ever get
`PublicIncident`s (`to_public`), made from published, unmerged incidents.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from incidents.core.clock import utcnow
from incidents.core.database import unit_of_work
from incidents.core.errors import N_, Conflict, Forbidden, InvalidInput, NotFound
from incidents.models import (
    EvidenceItem,
    Incident,
    IncidentSubmission,
    IncidentTerm,
    MediaProcessing,
    Submission,
    TermKind,
    TimePrecision,
    User,
)
from incidents.models.incidents import TITLE_MAX
from incidents.services import custody
from incidents.services.access import STAFF
from incidents.services.gazetteer import Gazetteer, load_gazetteer
from incidents.services.research.filters import LIKE_ESCAPE, Condition, Filters
from incidents.services.research.public import (
    LocationPrecision,
    PublicIncident,
    Verification,
    coarsest,
    locate,
    public_summary,
)
from incidents.services.taxonomy import Taxonomy, load_taxonomy

TEXT_MAX = 20_000
COUNT_MAX = 1_000_000
_PRECISION_ORDER = list(LocationPrecision)
Linked = TypeVar("Linked", Submission, EvidenceItem)  # what an incident is made from


def new_incident_id() -> str:
    """"INC-" and 10 random base32 characters (50 bits): stable, and says nothing."""
    return "INC-" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")[:10]


def require_reviewer(user: User) -> None:
    if user.role not in STAFF:
        raise Forbidden()


def allowed_precision(submission: Submission, gazetteer: Gazetteer | None = None
                      ) -> LocationPrecision:
    """The finest location one witness's report allows to be shown.

    No place ("I prefer not to say"): none. A point, and consent to publication: exact. A
    town: town. A region: region.
    """
    if submission.place_withheld or not submission.place_id:
        return LocationPrecision.NONE
    if submission.has_point and submission.consent_publication:
        return LocationPrecision.EXACT
    place = (gazetteer or load_gazetteer()).get(submission.place_id)
    if place is not None and place.kind == "region":
        return LocationPrecision.REGION
    return LocationPrecision.TOWN


def precision_cap(submissions: Sequence[Submission], gazetteer: Gazetteer | None = None
                  ) -> LocationPrecision:
    if not submissions:
        return LocationPrecision.EXACT  # nothing linked yet: no witness restricts it
    return coarsest(allowed_precision(s, gazetteer) for s in submissions)


def is_finer(a: LocationPrecision, b: LocationPrecision) -> bool:
    return _PRECISION_ORDER.index(a) < _PRECISION_ORDER.index(b)


# --- input ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentInput:
    title: str
    description: str
    summary: str | None
    start_utc: datetime | None
    end_utc: datetime | None
    time_precision: TimePrecision
    place_id: str | None
    location_precision: LocationPrecision
    categories: list[str]
    tags: list[str]
    injured: int | None
    detained: int | None
    killed: int | None
    verification: Verification


def _bad(name: str) -> InvalidInput:
    return InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name)


def _str(data: Mapping[str, Any], name: str, max_length: int, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise _bad(name)
    value = value.strip()
    if required and not value:
        raise InvalidInput(N_("The field %(name)s must be a non-empty string."), field=name,
                           name=name)
    return value


def _when(data: Mapping[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _bad(name)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise _bad(name) from e
    if parsed.tzinfo is None:
        raise InvalidInput(N_("Give times in UTC (ending in Z)."), field=name)
    return parsed


def _count(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= COUNT_MAX:
        raise _bad(name)
    return value


def _ids(data: Mapping[str, Any], name: str) -> list[str]:
    value = data.get(name) or []
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(name)
    return value


def parse_input(data: Mapping[str, Any], *, taxonomy: Taxonomy | None = None,
                gazetteer: Gazetteer | None = None) -> IncidentInput:
    """The incident form or API object, checked against the taxonomy and gazetteer."""
    taxonomy = taxonomy or load_taxonomy()
    gazetteer = gazetteer or load_gazetteer()
    categories, tags = taxonomy.check(_ids(data, "categories"), _ids(data, "tags"))
    place_id = _str(data, "place", 64) or None
    if place_id is not None and gazetteer.get(place_id) is None:
        raise InvalidInput(N_("This place is not in our list."), field="place")
    try:
        precision = LocationPrecision(data.get("location_precision") or (
            "town" if place_id else "none"))
        verification = Verification(data.get("verification") or "reported")
        time_precision = TimePrecision(data.get("time_precision") or "unknown")
    except ValueError as e:
        raise _bad("precision") from e
    start, end = _when(data, "start_utc"), _when(data, "end_utc")
    if start and end and end < start:
        raise InvalidInput(N_("The end is before the start."), field="end_utc")
    return IncidentInput(
        title=_str(data, "title", TITLE_MAX, required=True),
        description=_str(data, "description", TEXT_MAX),
        summary=_str(data, "summary", 2000) or None,
        start_utc=start, end_utc=end, time_precision=time_precision, place_id=place_id,
        location_precision=precision, categories=categories, tags=tags,
        injured=_count(data, "injured"), detained=_count(data, "detained"),
        killed=_count(data, "killed"), verification=verification)


def input_from_submissions(submissions: Sequence[Submission], title: str) -> dict[str, Any]:
    """A starting point for the incident form, from the submissions' clear fields."""
    first = submissions[0] if submissions else None
    categories = sorted({c for s in submissions for c in s.categories})
    tags = sorted({t for s in submissions for t in s.tags})
    times = [s.occurred_at for s in submissions if s.occurred_at]
    return {
        "title": title,
        "start_utc": min(times).isoformat().replace("+00:00", "Z") if times else "",
        "time_precision": first.time_precision.value if first else "unknown",
        "place": first.place_id if first and first.place_id else "",
        "location_precision": precision_cap(submissions).value,
        "categories": categories, "tags": tags,
    }


# --- loading, linking ----------------------------------------------------------------------


def load(session: Session, user: User, public_id: str) -> Incident:
    require_reviewer(user)
    if not isinstance(public_id, str) or len(public_id) > 32:
        raise NotFound()
    found = session.scalar(select(Incident).where(Incident.public_id == public_id))
    if found is None:
        raise NotFound()
    return found


def list_all(session: Session, user: User, *, limit: int = 500) -> list[Incident]:
    require_reviewer(user)
    return list(session.scalars(select(Incident).where(Incident.merged_into_id.is_(None))
                                .order_by(Incident.created_at.desc()).limit(limit)))


def _submissions(session: Session, public_ids: Sequence[str]) -> list[Submission]:
    return _rows(session, Submission, public_ids, field="submissions",
                 missing=N_("No submission has the id %(id)s."))


def _items(session: Session, public_ids: Sequence[str]) -> list[EvidenceItem]:
    return _rows(session, EvidenceItem, public_ids, field="items",
                 missing=N_("No evidence item has the id %(id)s."))


def _rows(session: Session, model: type[Linked], public_ids: Sequence[str], *, field: str,
          missing: str) -> list[Linked]:
    """The rows with these public ids, each once, in order; `missing` names the first absent."""
    found: list[Linked] = []
    for public_id in dict.fromkeys(public_ids):
        row = session.scalar(select(model).where(model.public_id == public_id))
        if row is None:
            raise InvalidInput(missing, field=field, id=public_id[:40])
        found.append(row)
    return found


def _refresh_media(session: Session, incident: Incident) -> None:
    ids = [i.id for i in incident.items]
    kinds = set(session.scalars(select(MediaProcessing.kind).where(
        MediaProcessing.item_id.in_(ids)))) if ids else set()
    incident.has_photo = "image" in kinds
    incident.has_video = "video" in kinds


def _apply(session: Session, incident: Incident, data: IncidentInput,
           gazetteer: Gazetteer) -> None:
    cap = precision_cap(incident.submissions, gazetteer)
    precision = data.location_precision
    if is_finer(precision, cap):
        raise InvalidInput(N_("The witnesses' reports allow this place to be shown only as "
                              "precisely as: %(cap)s."), field="location_precision",
                           cap=cap.value)
    place = gazetteer.get(data.place_id)
    incident.title = data.title
    incident.description = data.description
    incident.summary = data.summary
    incident.start_utc, incident.end_utc = data.start_utc, data.end_utc
    incident.time_precision = data.time_precision
    incident.location_precision = precision if place is not None else LocationPrecision.NONE
    if incident.location_precision is LocationPrecision.NONE:
        incident.place_id = incident.region_id = None
    elif place is not None and (place.kind == "region" or precision is LocationPrecision.REGION):
        incident.place_id = incident.region_id = place.region or place.id
        incident.location_precision = LocationPrecision.REGION
    else:
        assert place is not None
        incident.place_id, incident.region_id = place.id, place.region
    incident.injured, incident.detained, incident.killed = (data.injured, data.detained,
                                                            data.killed)
    incident.verification = data.verification
    wanted = {(TermKind.CATEGORY, c) for c in data.categories} | {
        (TermKind.TAG, t) for t in data.tags}
    incident.terms = [t for t in incident.terms if (t.kind, t.term) in wanted]
    have = {(t.kind, t.term) for t in incident.terms}
    for kind, term in sorted(wanted - have):
        incident.terms.append(IncidentTerm(kind=kind, term=term))


def create(session: Session, user: User, data: IncidentInput, *,
           submission_ids: Sequence[str] = (), item_ids: Sequence[str] = (),
           gazetteer: Gazetteer | None = None) -> Incident:
    """A new incident linked to submissions (and all their items) and single items."""
    require_reviewer(user)
    gazetteer = gazetteer or load_gazetteer()
    with unit_of_work(session):
        subs = _submissions(session, submission_ids)
        items = _items(session, item_ids)
        incident = Incident(public_id=new_incident_id(), title=data.title, created_by_id=user.id)
        incident.submissions = list(subs)
        linked = {i.id: i for s in subs for i in s.items}
        linked.update({i.id: i for i in items})
        for item in items:
            if item.submission not in incident.submissions:
                incident.submissions.append(item.submission)
        incident.items = list(linked.values())
        _apply(session, incident, data, gazetteer)
        session.add(incident)
        session.flush()
        _refresh_media(session, incident)
        custody.append(session, actor=user.public_id, action="incident_created",
                       subject=incident.subject,
                       details={"submissions": [s.public_id for s in incident.submissions],
                                "items": [i.public_id for i in incident.items]})
    return incident


def update(session: Session, user: User, public_id: str, data: IncidentInput, *,
           gazetteer: Gazetteer | None = None) -> Incident:
    incident = load(session, user, public_id)
    if incident.merged_into_id is not None:
        raise Conflict(N_("This incident was merged into another."))
    with unit_of_work(session):
        _apply(session, incident, data, gazetteer or load_gazetteer())
        custody.append(session, actor=user.public_id, action="incident_edited",
                       subject=incident.subject, details={})
        if incident.published:
            _check_publishable(incident, gazetteer or load_gazetteer())
    return incident


def link(session: Session, user: User, public_id: str, *, submission_ids: Sequence[str] = (),
         item_ids: Sequence[str] = ()) -> Incident:
    incident = load(session, user, public_id)
    with unit_of_work(session):
        for submission in _submissions(session, submission_ids):
            if submission not in incident.submissions:
                incident.submissions.append(submission)
            for item in submission.items:
                if item not in incident.items:
                    incident.items.append(item)
        for item in _items(session, item_ids):
            if item not in incident.items:
                incident.items.append(item)
            if item.submission not in incident.submissions:
                incident.submissions.append(item.submission)
        cap = precision_cap(incident.submissions)
        if is_finer(incident.location_precision, cap):
            incident.location_precision = cap  # a new witness may only make it coarser
            if cap is LocationPrecision.NONE:
                incident.place_id = incident.region_id = None
            elif cap is LocationPrecision.REGION:
                incident.place_id = incident.region_id
        _refresh_media(session, incident)
        custody.append(session, actor=user.public_id, action="incident_linked",
                       subject=incident.subject,
                       details={"submissions": list(submission_ids), "items": list(item_ids)})
    return incident


def merge(session: Session, user: User, target_id: str, source_ids: Sequence[str]
          ) -> Incident:
    """Fold other incidents into `target_id`; they keep their ids, marked merged, unlisted."""
    target = load(session, user, target_id)
    sources = [load(session, user, s) for s in dict.fromkeys(source_ids) if s != target_id]
    if not sources:
        raise InvalidInput(N_("Choose at least one other incident."), field="sources")
    with unit_of_work(session):
        for source in sources:
            if source.merged_into_id is not None:
                raise Conflict(N_("This incident was merged into another."))
            for submission in source.submissions:
                if submission not in target.submissions:
                    target.submissions.append(submission)
            for item in source.items:
                if item not in target.items:
                    target.items.append(item)
            have = {(t.kind, t.term) for t in target.terms}
            for term in source.terms:
                if (term.kind, term.term) not in have:
                    target.terms.append(IncidentTerm(kind=term.kind, term=term.term))
            source.merged_into_id = target.id
            source.published = False
            custody.append(session, actor=user.public_id, action="merged", subject=source.subject,
                           details={"into": target.public_id})
        cap = precision_cap(target.submissions)
        if is_finer(target.location_precision, cap):
            target.location_precision = cap
            if cap is LocationPrecision.NONE:
                target.place_id = target.region_id = None
        _refresh_media(session, target)
        custody.append(session, actor=user.public_id, action="merged", subject=target.subject,
                       details={"from": [s.public_id for s in sources]})
    return target


def split(session: Session, user: User, public_id: str, submission_ids: Sequence[str],
          title: str) -> Incident:
    """Move some submissions (and their items) out into a new, unpublished incident."""
    source = load(session, user, public_id)
    moving = _submissions(session, submission_ids)
    if not moving or any(s not in source.submissions for s in moving):
        raise InvalidInput(N_("Choose submissions of this incident."), field="submissions")
    if len(moving) == len(source.submissions):
        raise InvalidInput(N_("Leave at least one submission in the incident."),
                           field="submissions")
    title = title.strip()[:TITLE_MAX] if isinstance(title, str) else ""
    with unit_of_work(session):
        new = Incident(public_id=new_incident_id(), title=title or source.title,
                       description=source.description, start_utc=source.start_utc,
                       end_utc=source.end_utc, time_precision=source.time_precision,
                       verification=Verification.REPORTED, created_by_id=user.id)
        new.submissions = list(moving)
        new.items = [i for i in source.items if i.submission in moving]
        new.terms = [IncidentTerm(kind=t.kind, term=t.term) for t in source.terms]
        source.submissions = [s for s in source.submissions if s not in moving]
        source.items = [i for i in source.items if i.submission not in moving]
        cap = precision_cap(new.submissions)
        new.location_precision = source.location_precision if not is_finer(
            source.location_precision, cap) else cap
        if new.location_precision is not LocationPrecision.NONE:
            new.place_id, new.region_id = source.place_id, source.region_id
        session.add(new)
        session.flush()
        _refresh_media(session, source)
        _refresh_media(session, new)
        custody.append(session, actor=user.public_id, action="split", subject=source.subject,
                       details={"into": new.public_id,
                                "submissions": [s.public_id for s in moving]})
        custody.append(session, actor=user.public_id, action="split", subject=new.subject,
                       details={"from": source.public_id})
    return new


def _check_publishable(incident: Incident, gazetteer: Gazetteer) -> None:
    if incident.merged_into_id is not None:
        raise Conflict(N_("This incident was merged into another."))
    if incident.start_utc is None:
        raise InvalidInput(N_("Give a start time before publishing."), field="start_utc")
    if not incident.submissions:
        raise Conflict(N_("Link at least one submission before publishing."))
    if any(not s.consent_research for s in incident.submissions):
        raise Conflict(N_("A witness behind this incident did not agree to research use; "
                          "it cannot be published."))
    if is_finer(incident.location_precision, precision_cap(incident.submissions, gazetteer)):
        raise Conflict(N_("The place is more precise than the witnesses allow."))


def publish(session: Session, user: User, public_id: str, published: bool = True, *,
            gazetteer: Gazetteer | None = None) -> Incident:
    """Publish (or withdraw) an incident: an explicit decision, a custody event."""
    incident = load(session, user, public_id)
    if published:
        _check_publishable(incident, gazetteer or load_gazetteer())
    with unit_of_work(session):
        if incident.published != published:
            incident.published = published
            if published:
                incident.published_at = utcnow()
            custody.append(session, actor=user.public_id,
                           action="published" if published else "unpublished",
                           subject=incident.subject,
                           details={"verification": incident.verification.value,
                                    "location_precision": incident.location_precision.value,
                                    "submissions": [s.public_id for s in incident.submissions]})
    return incident


def history(session: Session, incident: Incident) -> list[Any]:
    return custody.events_for(session, incident.subject)


# --- what researchers get ----------------------------------------------------------------


def witnesses_consented(incident: Incident) -> bool:
    return bool(incident.submissions) and all(s.consent_publication
                                              for s in incident.submissions)


def to_public(incident: Incident, gazetteer: Gazetteer | None = None) -> PublicIncident:
    """The only shape of an incident that leaves for researchers."""
    if incident.start_utc is None or incident.published_at is None:
        raise NotFound()
    place = locate(gazetteer or load_gazetteer(), incident.place_id,
                   incident.location_precision)
    return PublicIncident(
        id=incident.public_id, title=incident.title,
        summary=public_summary(incident.summary,
                               witnesses_consented=witnesses_consented(incident)),
        start_utc=incident.start_utc, end_utc=incident.end_utc,
        time_precision=incident.time_precision.value, place=place,
        categories=tuple(incident.categories), tags=tuple(incident.tags),
        injured=incident.injured, detained=incident.detained, killed=incident.killed,
        verification=incident.verification, has_photo=incident.has_photo,
        has_video=incident.has_video, published_at=incident.published_at)


_COLUMNS: dict[str, Any] = {
    "start_utc": Incident.start_utc, "region_id": Incident.region_id,
    "place_id": Incident.place_id, "verification": Incident.verification,
    "has_photo": Incident.has_photo, "has_video": Incident.has_video,
    "published_at": Incident.published_at, "killed": Incident.killed,
    "injured": Incident.injured, "detained": Incident.detained, "id": Incident.public_id,
}


def _condition(condition: Condition) -> ColumnElement[bool]:
    name, op, value = condition.field, condition.op, condition.value
    if name in ("categories", "tags"):
        kind = TermKind.CATEGORY if name == "categories" else TermKind.TAG
        return exists().where(IncidentTerm.incident_id == Incident.id, IncidentTerm.kind == kind,
                              IncidentTerm.term.in_(list(value)))
    if name == "text":
        return or_(Incident.title.ilike(value, escape=LIKE_ESCAPE),
                   and_(Incident.summary.ilike(value, escape=LIKE_ESCAPE),
                        _all_consented()))
    column = _COLUMNS[name]
    if name == "verification":
        value = [Verification(v) for v in value]
    match op:
        case "ge":
            return column >= value
        case "lt":
            return column < value
        case "in":
            return column.in_(list(value))
        case "eq":
            return column == value
    raise ValueError(f"unknown operator {op}")


def _all_consented() -> ColumnElement[bool]:
    """Every linked witness consented to publication (so the summary is public)."""
    return ~exists().where(IncidentSubmission.incident_id == Incident.id,
                           IncidentSubmission.submission_id == Submission.id,
                           Submission.consent_publication.is_(false()))


def _published_query(filters: Filters) -> Select[tuple[Incident]]:
    query = select(Incident).where(Incident.published.is_(true()),
                                   Incident.merged_into_id.is_(None),
                                   Incident.start_utc.is_not(None))
    for condition in filters.conditions():
        query = query.where(_condition(condition))
    return query


def _ordered(query: Select[tuple[Incident]], filters: Filters) -> Select[tuple[Incident]]:
    for name, descending in filters.order_by():
        column = _COLUMNS[name]
        query = query.order_by(column.desc().nulls_last() if descending
                               else column.asc().nulls_last())
    return query.options(selectinload(Incident.terms), selectinload(Incident.submissions))


def list_published(session: Session, filters: Filters, *, gazetteer: Gazetteer | None = None
                   ) -> list[PublicIncident]:
    """One page of published incidents matching `filters`, as researchers see them."""
    gazetteer = gazetteer or load_gazetteer()
    query = _ordered(_published_query(filters), filters).offset(filters.offset).limit(
        filters.limit)
    return [to_public(i, gazetteer) for i in session.scalars(query)]


def count_published(session: Session, filters: Filters) -> int:
    query = _published_query(filters).with_only_columns(func.count(Incident.id)).order_by(None)
    return int(session.scalar(query) or 0)


def iter_published(session: Session, filters: Filters, *, gazetteer: Gazetteer | None = None,
                   batch: int = 500) -> Iterator[PublicIncident]:
    """Every published incident matching `filters` (no paging), in sort order, in batches."""
    gazetteer = gazetteer or load_gazetteer()
    query = _ordered(_published_query(filters), filters)
    offset = 0
    while True:
        rows = list(session.scalars(query.offset(offset).limit(batch)))
        for row in rows:
            yield to_public(row, gazetteer)
        if len(rows) < batch:
            return
        offset += batch


def get_published(session: Session, public_id: str, *, gazetteer: Gazetteer | None = None
                  ) -> PublicIncident:
    if not isinstance(public_id, str) or len(public_id) > 32:
        raise NotFound()
    row = session.scalar(select(Incident).where(
        Incident.public_id == public_id, Incident.published.is_(true()),
        Incident.merged_into_id.is_(None)))
    if row is None:
        raise NotFound()
    return to_public(row, gazetteer)
