"""Command responsibility: who commanded each involved unit, and its parents, on the day.

Derived, never stored: from the posts valid on the incident's first day, each unit linked to
the incident (directly, or as the unit of a linked person or facility) is walked up its
`part_of` posts, and at each level the persons holding a `commander` post are named, with
the evidence cited for that post. A lawyer confirms or rejects each derived link
(`review`, a custody event on the incident); the latest decision is shown beside it, and
rejected links go to the exculpatory section of a dossier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.database import begin_write, unit_of_work
from incidents.core.errors import N_, InvalidInput
from incidents.models import (
    Actor,
    ActorKind,
    ActorPost,
    ChainDecision,
    ChainReview,
    Incident,
    Involvement,
    LinkStatus,
    PostKind,
    User,
)
from incidents.services import custody, incidents
from incidents.services.actors import fields
from incidents.services.evidence import sealed
from storage.blobstore import BlobStore

MAX_DEPTH = 12  # a hierarchy deeper than this is a data error (or a cycle)


@dataclass(frozen=True)
class ChainLink:
    """One derived link: `commander` held `post` over `unit` at `level` above the incident."""

    incident: Incident
    unit: Actor
    level: int  # 0: the involved unit itself; 1: its parent; ...
    via: str  # the involvement (or unit post) that brought the unit in
    post: ActorPost
    decision: ChainDecision | None
    decided_by: int | None
    reason_blob_id: str | None


def incident_day(incident: Incident) -> date | None:
    return incident.start_utc.date() if incident.start_utc else None


def _posts(session: Session, kind: PostKind, **where: int) -> list[ActorPost]:
    query = select(ActorPost).where(ActorPost.kind == kind)
    for name, value in where.items():
        query = query.where(getattr(ActorPost, name) == value)
    return list(session.scalars(query.order_by(ActorPost.id)))


def _involved_units(session: Session, incident: Incident, day: date
                    ) -> list[tuple[Actor, str]]:
    """Units in the incident: linked units, units of linked persons and facilities."""
    found: dict[int, tuple[Actor, str]] = {}
    rows = session.scalars(select(Involvement).where(
        Involvement.incident_id == incident.id,
        Involvement.status != LinkStatus.REJECTED).order_by(Involvement.id))
    for row in rows:
        actor = row.actor
        if actor.kind is ActorKind.UNIT:
            found.setdefault(actor.id, (actor, row.public_id))
        elif actor.kind is ActorKind.PERSON:
            for post in _posts(session, PostKind.MEMBER, actor_id=actor.id):
                if post.covers(day):
                    found.setdefault(post.target.id, (post.target, post.public_id))
        else:
            for post in _posts(session, PostKind.OPERATES, target_id=actor.id):
                if post.covers(day):
                    found.setdefault(post.actor.id, (post.actor, post.public_id))
    return list(found.values())


def derive(session: Session, user: User, incident_id: str) -> list[ChainLink]:
    """The derived command chain of an incident, with each link's latest decision."""
    incident = incidents.load(session, user, incident_id)
    day = incident_day(incident)
    if day is None:
        return []
    decisions: dict[int, ChainReview] = {}
    for decided in session.scalars(select(ChainReview).where(
            ChainReview.incident_id == incident.id).order_by(ChainReview.id)):
        decisions[decided.post_id] = decided  # the latest wins
    links: list[ChainLink] = []
    seen: set[tuple[int, int]] = set()
    for unit, via in _involved_units(session, incident, day):
        level, visited = 0, set()
        current: Actor | None = unit
        while current is not None and current.id not in visited and level < MAX_DEPTH:
            visited.add(current.id)
            for post in _posts(session, PostKind.COMMANDER, target_id=current.id):
                if not post.covers(day) or (current.id, post.id) in seen:
                    continue
                seen.add((current.id, post.id))
                last = decisions.get(post.id)
                links.append(ChainLink(
                    incident=incident, unit=current, level=level, via=via, post=post,
                    decision=last.decision if last else None,
                    decided_by=last.by_id if last else None,
                    reason_blob_id=last.reason_blob_id if last else None))
            parents = [p for p in _posts(session, PostKind.PART_OF, actor_id=current.id)
                       if p.covers(day)]
            current = parents[0].target if parents else None
            level += 1
    return links


def review(session: Session, store: BlobStore, user: User, incident_id: str,
           data: Mapping[str, Any]) -> ChainReview:
    """A lawyer confirms or rejects one derived link (with a reason, sealed)."""
    post_id = fields.public_id(data, "post")
    decision = fields.choice(data, "decision", ChainDecision)
    reason = fields.text(data, "reason", 5000, required=decision is ChainDecision.REJECTED,
                         multiline=True)
    links = derive(session, user, incident_id)
    link = next((lk for lk in links if lk.post.public_id == post_id), None)
    if link is None:
        raise InvalidInput(N_("This post is not in the incident's derived command chain."),
                           field="post")
    with unit_of_work(session):
        begin_write(session)
        row = ChainReview(incident_id=link.incident.id, post_id=link.post.id,
                          decision=decision, by_id=user.id,
                          reason_blob_id=sealed.seal(
                              session, store, {"reason": reason}, actor=user.public_id,
                              part_of=link.incident.subject) if reason else None)
        session.add(row)
        custody.append(session, actor=user.public_id, action="chain_reviewed",
                       subject=link.incident.subject,
                       details={"post": link.post.public_id, "unit": link.unit.public_id,
                                "commander": link.post.actor.public_id,
                                "decision": decision.value})
        custody.append(session, actor=user.public_id, action="chain_reviewed",
                       subject=link.post.actor.subject,
                       details={"post": link.post.public_id,
                                "incident": link.incident.public_id,
                                "decision": decision.value})
    return row


def incidents_commanded(session: Session, user: User, person: Actor) -> list[Incident]:
    """Incidents whose derived chain names this person (for their dossier)."""
    posts = _posts(session, PostKind.COMMANDER, actor_id=person.id)
    if not posts:
        return []
    # Only incidents with a link can have a derived chain: do not derive for the others.
    linked = session.scalars(select(Incident).where(Incident.id.in_(
        select(Involvement.incident_id).where(Involvement.status != LinkStatus.REJECTED)),
        Incident.merged_into_id.is_(None)).order_by(Incident.id))
    found = []
    for incident in linked:
        if any(link.post.actor_id == person.id
               for link in derive(session, user, incident.public_id)):
            found.append(incident)
    return found
