"""Actors (persons, units, facilities) and their posts over time; reviewers only.

Every change is a custody event on `actor:<public id>` (created, edited, post added, photo
linked); photos are evidence items, cited on the item's own chain (`evidence:<id>`).
Names and identifying details are one sealed JSON blob per version; a change writes a new
version and the old one stays, so earlier statements about a person remain in the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from incidents.core.database import begin_write, unit_of_work
from incidents.core.errors import N_, Forbidden, InvalidInput, NotFound
from incidents.models import (
    Actor,
    ActorKind,
    ActorPost,
    Citation,
    EvidenceItem,
    ForceKind,
    PostKind,
    User,
)
from incidents.services import custody
from incidents.services.access import STAFF
from incidents.services.actors import fields
from incidents.services.actors.inputs import (
    ActorInput,
    CitationInput,
    PostInput,
)
from incidents.services.evidence import sealed
from storage.blobstore import BlobStore

MAX_ACTORS_LISTED = 1000
# The choices a form offers (faces take them from here, never from the models).
ACTOR_KINDS = [k.value for k in ActorKind]
FORCES = [f.value for f in ForceKind]
POST_KINDS = [k.value for k in PostKind]
# Which kinds a post joins: (actor kind, target kind).
POST_SHAPES: dict[PostKind, tuple[ActorKind, ActorKind]] = {
    PostKind.MEMBER: (ActorKind.PERSON, ActorKind.UNIT),
    PostKind.COMMANDER: (ActorKind.PERSON, ActorKind.UNIT),
    PostKind.PART_OF: (ActorKind.UNIT, ActorKind.UNIT),
    PostKind.OPERATES: (ActorKind.UNIT, ActorKind.FACILITY),
}


def require_reviewer(user: User) -> None:
    if user.role not in STAFF:
        raise Forbidden()


# --- loading -------------------------------------------------------------------------------


def load(session: Session, user: User, public_id: str, *, field: str | None = None) -> Actor:
    """The actor; with `field`, an unknown id is bad input naming it (400), else 404."""
    require_reviewer(user)
    found = session.scalar(select(Actor).where(Actor.public_id == public_id)) if (
        isinstance(public_id, str) and len(public_id) <= 32) else None
    if found is None:
        if field is not None:
            raise InvalidInput(N_("No actor has the id %(id)s."), field=field,
                               id=str(public_id)[:40])
        raise NotFound()
    return found


def list_all(session: Session, user: User, *, kind: str | None = None) -> list[Actor]:
    """Every actor (of one kind: `kind` is checked, naming the field, when given)."""
    require_reviewer(user)
    wanted = fields.optional_choice({"kind": kind}, "kind", ActorKind)
    query = select(Actor).order_by(Actor.kind, Actor.id).limit(MAX_ACTORS_LISTED)
    if wanted is not None:
        query = query.where(Actor.kind == wanted)
    return list(session.scalars(query))


def posts_of(session: Session, actor: Actor) -> list[ActorPost]:
    """Posts the actor holds and posts held in it (members, commanders, sub-units)."""
    return list(session.scalars(select(ActorPost).where(
        or_(ActorPost.actor_id == actor.id, ActorPost.target_id == actor.id))
        .order_by(ActorPost.start_date, ActorPost.id)))


def item_by_public_id(session: Session, public_id: str, *, field: str) -> EvidenceItem:
    item = session.scalar(select(EvidenceItem).where(EvidenceItem.public_id == public_id))
    if item is None:
        raise InvalidInput(N_("No evidence item has the id %(id)s."), field=field,
                           id=public_id[:40])
    return item


# --- changes -------------------------------------------------------------------------------


def add_citations(session: Session, store: BlobStore, user: User,
                  citations: Sequence[CitationInput], *, allowed: set[int] | None,
                  involvement_id: int | None = None, post_id: int | None = None,
                  part_of: str) -> list[Citation]:
    """Citation rows (excerpts sealed) and a "cited" event on each item's own chain.

    `allowed` (item row ids) limits the items that may be cited: an incident's items.
    """
    rows = []
    for n, each in enumerate(citations):
        item = item_by_public_id(session, each.item, field=f"citations[{n}].item")
        if allowed is not None and item.id not in allowed:
            raise InvalidInput(N_("Evidence item %(id)s is not part of this incident."),
                               field=f"citations[{n}].item", id=item.public_id)
        excerpt = (sealed.seal(session, store, {"excerpt": each.excerpt},
                               actor=user.public_id, part_of=part_of)
                   if each.excerpt else None)
        row = Citation(public_id=fields.new_id("CIT"), involvement_id=involvement_id,
                       post_id=post_id, item_id=item.id, time_start_ms=each.time_start_ms,
                       time_end_ms=each.time_end_ms, page=each.page, excerpt_blob_id=excerpt,
                       created_by_id=user.id)
        session.add(row)
        rows.append(row)
        custody.append(session, actor=user.public_id, action="cited",
                       subject=f"evidence:{item.public_id}",
                       details={"by": part_of, "citation": row.public_id,
                                **locator(row)})
    session.flush()
    return rows


def locator(citation: Citation) -> dict[str, int]:
    """Where in the item a citation points (for custody details and displays)."""
    found = {}
    if citation.time_start_ms is not None:
        found["time_start_ms"] = citation.time_start_ms
    if citation.time_end_ms is not None:
        found["time_end_ms"] = citation.time_end_ms
    if citation.page is not None:
        found["page"] = citation.page
    return found


def add_post_to(session: Session, store: BlobStore, user: User | None, actor: Actor,
              data: PostInput, n: int | None = None) -> ActorPost:
    where = f"posts[{n}]." if n is not None else ""
    target = session.scalar(select(Actor).where(Actor.public_id == data.target))
    if target is None:
        raise InvalidInput(N_("No actor has the id %(id)s."), field=f"{where}target",
                           id=data.target[:40])
    want_actor, want_target = POST_SHAPES[data.kind]
    if actor.kind is not want_actor or target.kind is not want_target or target.id == actor.id:
        raise InvalidInput(N_("A post of this kind joins a %(actor)s to a %(target)s."),
                           field=f"{where}kind", actor=want_actor.value,
                           target=want_target.value)
    actor_id = user.public_id if user is not None else None
    post = ActorPost(public_id=fields.new_id("POS"), actor_id=actor.id, target_id=target.id,
                     kind=data.kind, start_date=data.start, end_date=data.end,
                     created_by_id=user.id if user is not None else None)
    if data.rank or data.position:
        post.details_blob_id = sealed.seal(session, store, {"rank": data.rank,
                                                            "position": data.position},
                                           actor=actor_id, part_of=actor.subject)
    session.add(post)
    session.flush()
    custody.append(session, actor=actor_id, action="post_added", subject=actor.subject,
                   details={"post": post.public_id, "kind": data.kind.value,
                            "target": target.public_id,
                            "start": data.start.isoformat() if data.start else None,
                            "end": data.end.isoformat() if data.end else None})
    if data.citations:
        if user is None:
            raise Forbidden()
        add_citations(session, store, user, data.citations, allowed=None, post_id=post.id,
                      part_of=post.subject)
    return post


def create(session: Session, store: BlobStore, user: User | None, data: ActorInput, *,
           seed_id: str | None = None) -> Actor:
    """A new actor with its sealed details, posts and photos; one unit of work.

    `user` None is the operator seeding reference data on the command line.
    """
    if user is not None:
        require_reviewer(user)
    if data.place_id is not None and data.kind is not ActorKind.FACILITY and (
            data.kind is not ActorKind.UNIT):
        raise InvalidInput(N_("Only units and facilities have a place."), field="place")
    actor_id = user.public_id if user is not None else None
    with unit_of_work(session):
        begin_write(session)
        actor = Actor(public_id=fields.new_id("ACT"), kind=data.kind, force=data.force,
                      place_id=data.place_id, seed_id=seed_id,
                      created_by_id=user.id if user is not None else None)
        actor.details_blob_id = sealed.seal(session, store, data.details, actor=actor_id,
                                            part_of=actor.subject)
        session.add(actor)
        session.flush()
        custody.append(session, actor=actor_id, action="actor_created", subject=actor.subject,
                       details={"kind": data.kind.value,
                                "force": data.force.value if data.force else None,
                                "place": data.place_id, "seed": seed_id,
                                "details_blob": actor.details_blob_id})
        _link_photos(session, user, actor, data.photos)
        for n, post in enumerate(data.posts):
            add_post_to(session, store, user, actor, post, n)
    return actor


def _link_photos(session: Session, user: User | None, actor: Actor, photos: Sequence[str]
                 ) -> None:
    if not photos:
        return
    if actor.kind is not ActorKind.PERSON:
        raise InvalidInput(N_("Only persons have photos."), field="photos")
    for n, public_id in enumerate(photos):
        item = item_by_public_id(session, public_id, field=f"photos[{n}]")
        if item not in actor.photos:
            actor.photos.append(item)
        custody.append(session, actor=user.public_id if user else None, action="cited",
                       subject=f"evidence:{item.public_id}",
                       details={"by": actor.subject, "as": "photo"})
    session.flush()


def add_post(session: Session, store: BlobStore, user: User, public_id: str,
             data: PostInput) -> ActorPost:
    actor = load(session, user, public_id)
    with unit_of_work(session):
        begin_write(session)
        return add_post_to(session, store, user, actor, data)


def edit(session: Session, store: BlobStore, user: User, public_id: str,
         details: dict[str, Any], photos: Sequence[str] = ()) -> Actor:
    """A new version of the sealed details (the previous one is kept), and more photos."""
    actor = load(session, user, public_id)
    with unit_of_work(session):
        begin_write(session)
        previous = actor.details_blob_id
        actor.details_blob_id = sealed.seal(session, store, details, actor=user.public_id,
                                            part_of=actor.subject)
        custody.append(session, actor=user.public_id, action="actor_edited",
                       subject=actor.subject,
                       details={"details_blob": actor.details_blob_id, "previous": previous})
        _link_photos(session, user, actor, photos)
    return actor


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostView:
    id: str
    kind: str
    actor: str
    target: str
    start: str | None
    end: str | None
    rank: str
    position: str
    citations: list[str]


@dataclass(frozen=True)
class ActorView:
    """What reviewers see of an actor: public ids and values only (no rows)."""

    id: str
    kind: str
    force: str | None
    place: str | None
    name_latin: str
    name_cyrillic: str
    aliases: list[str]
    transliterations: list[str]
    details: str
    photos: list[str]
    posts: list[PostView]
    names: dict[str, str]  # other actors named here: public id -> display name

    @property
    def name(self) -> str:
        return display_name(self.name_latin, self.name_cyrillic)


def display_name(latin: str, cyrillic: str) -> str:
    if latin and cyrillic and latin != cyrillic:
        return f"{latin} ({cyrillic})"
    return latin or cyrillic


def names(session: Session, store: BlobStore, user: User, actors: Sequence[Actor]
          ) -> dict[str, str]:
    """Display names of several actors (one batch of "viewed" events)."""
    values = sealed.read_many(session, store, [a.details_blob_id for a in actors],
                              actor=user.public_id)
    found = {}
    for a in actors:
        value = values.get(a.details_blob_id, {})
        found[a.public_id] = display_name(value.get("name_latin", ""),
                                          value.get("name_cyrillic", ""))
    return found


def view(session: Session, store: BlobStore, user: User, public_id: str) -> ActorView:
    actor = load(session, user, public_id)
    return views(session, store, user, [actor])[0]


def views(session: Session, store: BlobStore, user: User, actors: Sequence[Actor]
          ) -> list[ActorView]:
    require_reviewer(user)
    posts = {a.id: posts_of(session, a) for a in actors}
    others = {p.actor.id: p.actor for ps in posts.values() for p in ps} | {
        p.target.id: p.target for ps in posts.values() for p in ps}
    blob_ids: list[str | None] = [a.details_blob_id for a in actors]
    blob_ids += [o.details_blob_id for o in others.values()]
    blob_ids += [p.details_blob_id for ps in posts.values() for p in ps]
    values = sealed.read_many(session, store, blob_ids, actor=user.public_id)
    shown = {}
    for other in [*actors, *others.values()]:
        value = values.get(other.details_blob_id, {})
        shown[other.public_id] = display_name(value.get("name_latin", ""),
                                              value.get("name_cyrillic", ""))
    result = []
    for a in actors:
        value = values.get(a.details_blob_id, {})
        post_views = []
        for p in posts[a.id]:
            extra = values.get(p.details_blob_id or "", {})
            post_views.append(PostView(
                id=p.public_id, kind=p.kind.value, actor=p.actor.public_id,
                target=p.target.public_id,
                start=p.start_date.isoformat() if p.start_date else None,
                end=p.end_date.isoformat() if p.end_date else None,
                rank=extra.get("rank", ""), position=extra.get("position", ""),
                citations=[c.public_id for c in p.citations]))
        result.append(ActorView(
            id=a.public_id, kind=a.kind.value, force=a.force.value if a.force else None,
            place=a.place_id, name_latin=value.get("name_latin", ""),
            name_cyrillic=value.get("name_cyrillic", ""), aliases=value.get("aliases", []),
            transliterations=value.get("transliterations", []),
            details=value.get("details", ""), photos=[i.public_id for i in a.photos],
            posts=post_views, names=shown))
    return result


def history(session: Session, actor: Actor) -> list[Any]:
    return custody.events_for(session, actor.subject)
