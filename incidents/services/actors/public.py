"""What researchers may learn about responsibility: the kinds of force (police, National
Guard, army, ...) in an incident's established links, never a person, unit or facility.

A person's kind of force is their own (if recorded) or that of the unit they served in on
the incident's day; only links a lawyer moved to "established" count.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import ActorKind, ActorPost, Incident, Involvement, LinkStatus, PostKind
from incidents.services.actors.chain import incident_day


def forces(session: Session, incident_public_id: str, *,
           include_unpublished: bool = False) -> list[str]:
    """The sorted kinds of force of a published incident's established links (of any
    incident with `include_unpublished`: the publication preview shows what will appear)."""
    query = select(Incident).where(Incident.public_id == incident_public_id)
    if not include_unpublished:
        query = query.where(Incident.published.is_(True))
    incident = session.scalar(query)
    if incident is None:
        return []
    day = incident_day(incident)
    found: set[str] = set()
    for row in session.scalars(select(Involvement).where(
            Involvement.incident_id == incident.id,
            Involvement.status == LinkStatus.ESTABLISHED)):
        actor = row.actor
        if actor.force is not None:
            found.add(actor.force.value)
        elif actor.kind is ActorKind.PERSON and day is not None:
            for post in session.scalars(select(ActorPost).where(
                    ActorPost.actor_id == actor.id,
                    ActorPost.kind.in_([PostKind.MEMBER, PostKind.COMMANDER]))):
                if post.covers(day) and post.target.force is not None:
                    found.add(post.target.force.value)
    return sorted(found)
