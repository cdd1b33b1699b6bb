"""Reviewers build incidents: create, update, link, merge, split, publish; each a unit of work
with its custody event."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.database import unit_of_work
from incidents.core.errors import N_, Conflict, Forbidden, InvalidInput, NotFound
from incidents.models import (
    EvidenceItem,
    Incident,
    IncidentTerm,
    MediaProcessing,
    Submission,
    TermKind,
    User,
)
from incidents.models.incidents import TITLE_MAX
from incidents.services import custody
from incidents.services.access import STAFF
from incidents.services.evidence import sealed
from incidents.services.gazetteer import Gazetteer, load_gazetteer
from incidents.services.incidents.input import IncidentInput
from incidents.services.incidents.precision import is_finer, precision_cap
from incidents.services.research.public import (
    LocationPrecision,
    Verification,
)
from incidents.services.state_commitments import members_of
from storage.blobstore import BlobStore

Linked = TypeVar("Linked", Submission, EvidenceItem)  # what an incident is made from


def new_incident_id() -> str:
    """"INC-" and 10 random base32 characters (50 bits): stable, and says nothing."""
    return "INC-" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")[:10]


def require_reviewer(user: User) -> None:
    if user.role not in STAFF:
        raise Forbidden()


def load(session: Session, user: User, public_id: str) -> Incident:
    require_reviewer(user)
    if not isinstance(public_id, str) or len(public_id) > 32:
        raise NotFound()
    found = session.scalar(select(Incident).where(Incident.public_id == public_id))
    if found is None:
        raise NotFound()
    return found


def descriptions(session: Session, store: BlobStore, user: User,
                 rows: Sequence[Incident]) -> sealed.Texts:
    """The (sealed) descriptions of these incidents, for reviewers: one batch of "viewed"
    events naming `user`; `Texts(sealed=True)` while the vault is sealed."""
    require_reviewer(user)
    return sealed.read_texts(session, store, [i.description_blob_id for i in rows],
                             actor=user.public_id)


def description_for_edit(session: Session, store: BlobStore, user: User,
                         incident: Incident) -> str:
    """The description to edit: VaultIsSealed (503) while the vault is sealed, so that a
    form saved meanwhile cannot replace the text with an empty one."""
    require_reviewer(user)
    values = sealed.read_many(session, store, [incident.description_blob_id],
                              actor=user.public_id)
    return sealed.Texts(values).get(incident.description_blob_id) or ""


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


def _apply(session: Session, store: BlobStore, user: User, incident: Incident,
           data: IncidentInput, gazetteer: Gazetteer) -> None:
    cap = precision_cap(incident.submissions, gazetteer)
    precision = data.location_precision
    if is_finer(precision, cap):
        raise InvalidInput(N_("The witnesses' reports allow this place to be shown only as "
                              "precisely as: %(cap)s."), field="location_precision",
                           cap=cap)
    place = gazetteer.get(data.place_id)
    incident.title = data.title
    # Reviewers only: sealed text (a new blob on each edit; the old one stays, as evidence).
    incident.description_blob_id = sealed.seal_text(session, store, data.description,
                                                    actor=user.public_id,
                                                    part_of=incident.subject)
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


def create(session: Session, store: BlobStore, user: User, data: IncidentInput, *,
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
        _apply(session, store, user, incident, data, gazetteer)
        session.add(incident)
        session.flush()
        _refresh_media(session, incident)
        custody.append(session, actor=user.public_id, action="incident_created",
                       subject=incident.subject,
                       details={"submissions": [s.public_id for s in incident.submissions],
                                "items": [i.public_id for i in incident.items],
                                "members": members_of(incident)})
    return incident


def update(session: Session, store: BlobStore, user: User, public_id: str,
           data: IncidentInput, *,
           gazetteer: Gazetteer | None = None) -> Incident:
    incident = load(session, user, public_id)
    if incident.merged_into_id is not None:
        raise Conflict(N_("This incident was merged into another."))
    with unit_of_work(session):
        _apply(session, store, user, incident, data, gazetteer or load_gazetteer())
        custody.append(session, actor=user.public_id, action="incident_edited",
                       subject=incident.subject, details={})
        if incident.published:
            check_publishable(incident, gazetteer or load_gazetteer())
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
                       details={"submissions": list(submission_ids), "items": list(item_ids),
                                "members": members_of(incident)})
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
                       details={"from": [s.public_id for s in sources],
                                "members": members_of(target)})
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
                       # The same sealed text: a blob is never changed, only replaced.
                       description_blob_id=source.description_blob_id,
                       start_utc=source.start_utc,
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
                                "submissions": [s.public_id for s in moving],
                                "members": members_of(source)})
        custody.append(session, actor=user.public_id, action="split", subject=new.subject,
                       details={"from": source.public_id, "members": members_of(new)})
    return new


def check_publishable(incident: Incident, gazetteer: Gazetteer) -> None:
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


def withdraw_if_unpublishable(session: Session, incident: Incident, *, reason: str,
                              gazetteer: Gazetteer | None = None) -> bool:
    """Inside the caller's unit of work: take a published incident off the research pages
    when it could no longer be published (a witness withdrew consent); True if it was."""
    try:
        check_publishable(incident, gazetteer or load_gazetteer())
    except (Conflict, InvalidInput):
        incident.published = False
        custody.append(session, actor=None, action="unpublished", subject=incident.subject,
                       details={"reason": reason,
                                "submissions": [s.public_id for s in incident.submissions]})
        return True
    return False


def publish(session: Session, user: User, public_id: str, published: bool = True, *,
            gazetteer: Gazetteer | None = None) -> Incident:
    """Publish (or withdraw) an incident: an explicit decision, a custody event."""
    incident = load(session, user, public_id)
    if published:
        check_publishable(incident, gazetteer or load_gazetteer())
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
