"""An incident's links to actors: role, status with its history, citations, translations.

A link without a citation may only be "alleged" (and is shown as "alleged, uncited"
everywhere); moving it on needs at least one citation and a reason. Every change is a
custody event on `involvement:<public id>`; every cited item gets a "cited" event on its
own chain (`evidence:<public id>`), so the item's history shows what it was used for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incidents.core.database import begin_write, unit_of_work
from incidents.core.errors import N_, Conflict, InvalidInput, NotFound
from incidents.models import (
    Actor,
    ActorKind,
    Citation,
    Incident,
    Involvement,
    InvolvementRole,
    LinkStatus,
    StatusChange,
    Translation,
    User,
)
from incidents.services import custody, incidents
from incidents.services.actors import fields, inputs, registry
from incidents.services.actors.registry import CitationInput
from incidents.services.evidence import sealed
from storage.blobstore import BlobStore

# Which actor kinds each role may name.
ROLE_KINDS: dict[InvolvementRole, frozenset[ActorKind]] = {
    InvolvementRole.DIRECT_PERPETRATOR: frozenset({ActorKind.PERSON, ActorKind.UNIT}),
    InvolvementRole.PRESENT_UNIT: frozenset({ActorKind.UNIT}),
    InvolvementRole.COMMANDER: frozenset({ActorKind.PERSON}),
    InvolvementRole.GAVE_ORDER: frozenset({ActorKind.PERSON}),
    InvolvementRole.DETENTION_FACILITY: frozenset({ActorKind.FACILITY}),
    InvolvementRole.OFFICIAL_RESPONSIBLE: frozenset({ActorKind.PERSON}),
}
REASON_MAX = 5000
ROLES = [r.value for r in InvolvementRole]
STATUSES = [s.value for s in LinkStatus]


@dataclass(frozen=True)
class InvolvementInput:
    actor: str
    role: InvolvementRole
    status: LinkStatus
    reason: str
    citations: list[CitationInput]


def parse(data: Mapping[str, Any]) -> InvolvementInput:
    return InvolvementInput(
        actor=fields.public_id(data, "actor") or "",
        role=fields.choice(data, "role", InvolvementRole),
        status=fields.choice(data, "status", LinkStatus, default=LinkStatus.ALLEGED),
        reason=fields.text(data, "reason", REASON_MAX, multiline=True),
        citations=inputs.parse_citations(data))


# Statuses that assert more than an allegation, and so need evidence. Disputing or rejecting
# a link asserts nothing about the actor: a reason is enough.
NEEDS_CITATION = frozenset({LinkStatus.CORROBORATED, LinkStatus.ESTABLISHED})


def _check_status(status: LinkStatus, cited: bool, reason: str) -> None:
    if status in NEEDS_CITATION and not cited:
        raise InvalidInput(N_("A link without a citation can only be alleged."), field="status")
    if status is not LinkStatus.ALLEGED and not reason:
        raise InvalidInput(N_("Say why the link has this status."), field="reason")


def create(session: Session, store: BlobStore, user: User, incident_id: str,
           data: InvolvementInput) -> Involvement:
    """Link an actor to an incident with its citations; one unit of work."""
    incident = incidents.load(session, user, incident_id)
    actor = registry.load(session, user, data.actor, field="actor")
    if actor.kind not in ROLE_KINDS[data.role]:
        raise InvalidInput(N_("This role cannot name a %(kind)s."), field="role",
                           kind=actor.kind.value)
    _check_status(data.status, bool(data.citations), data.reason)
    allowed = {i.id for i in incident.items}
    with unit_of_work(session):
        begin_write(session)
        exists = session.scalar(select(Involvement.id).where(
            Involvement.incident_id == incident.id, Involvement.actor_id == actor.id,
            Involvement.role == data.role))
        if exists is not None:
            raise Conflict(N_("This actor is already linked to the incident in this role."))
        row = Involvement(public_id=fields.new_id("INV"), incident_id=incident.id,
                          actor_id=actor.id, role=data.role, status=data.status,
                          created_by_id=user.id)
        session.add(row)
        try:
            session.flush()
        except IntegrityError as e:  # the same link made at the same moment elsewhere
            raise Conflict(N_("This actor is already linked to the incident in this "
                              "role.")) from e
        cited = registry.add_citations(session, store, user, data.citations, allowed=allowed,
                                       involvement_id=row.id, part_of=row.subject)
        reason = (sealed.seal(session, store, {"reason": data.reason}, actor=user.public_id,
                              part_of=row.subject) if data.reason else None)
        session.add(StatusChange(involvement_id=row.id, old_status=None,
                                 new_status=data.status, by_id=user.id,
                                 reason_blob_id=reason))
        custody.append(session, actor=user.public_id, action="involvement_created",
                       subject=row.subject,
                       details={"incident": incident.public_id, "actor": actor.public_id,
                                "role": data.role.value, "status": data.status.value,
                                "citations": [c.public_id for c in cited],
                                "items": [c.item.public_id for c in cited]})
        custody.append(session, actor=user.public_id, action="involvement_linked",
                       subject=incident.subject, details={"involvement": row.public_id})
        custody.append(session, actor=user.public_id, action="involvement_linked",
                       subject=actor.subject, details={"involvement": row.public_id,
                                                       "incident": incident.public_id})
    return row


def load(session: Session, user: User, public_id: str) -> Involvement:
    registry.require_reviewer(user)
    found = session.scalar(select(Involvement).where(Involvement.public_id == public_id)) if (
        isinstance(public_id, str) and len(public_id) <= 32) else None
    if found is None:
        raise NotFound()
    return found


def set_status(session: Session, store: BlobStore, user: User, public_id: str,
               status: Any, reason: Any, citations: Sequence[CitationInput] = ()
               ) -> Involvement:
    """Move a link (with a reason, sealed), adding citations first if given."""
    row = load(session, user, public_id)
    new = fields.choice({"status": status}, "status", LinkStatus)
    text = fields.text({"reason": reason}, "reason", REASON_MAX, required=True, multiline=True)
    incident = session.get(Incident, row.incident_id)
    assert incident is not None
    _check_status(new, bool(row.citations) or bool(citations), text)
    with unit_of_work(session):
        begin_write(session)
        cited = registry.add_citations(session, store, user, citations,
                                       allowed={i.id for i in incident.items},
                                       involvement_id=row.id, part_of=row.subject)
        old = row.status
        row.status = new
        session.add(StatusChange(
            involvement_id=row.id, old_status=old, new_status=new, by_id=user.id,
            reason_blob_id=sealed.seal(session, store, {"reason": text},
                                       actor=user.public_id, part_of=row.subject)))
        custody.append(session, actor=user.public_id, action="involvement_status",
                       subject=row.subject,
                       details={"from": old.value, "to": new.value,
                                "citations": [c.public_id for c in cited]})
    session.refresh(row)
    return row


def incident_of(session: Session, row: Involvement) -> str:
    incident = session.get(Incident, row.incident_id)
    assert incident is not None
    return incident.public_id


def for_incident(session: Session, user: User, incident_id: str) -> list[Involvement]:
    incident = incidents.load(session, user, incident_id)
    return list(session.scalars(select(Involvement).where(
        Involvement.incident_id == incident.id).order_by(Involvement.id)))


def for_actor(session: Session, actor: Actor) -> list[Involvement]:
    return list(session.scalars(select(Involvement).where(Involvement.actor_id == actor.id)
                                .order_by(Involvement.id)))


# --- translations --------------------------------------------------------------------------


def load_citation(session: Session, user: User, public_id: str) -> Citation:
    registry.require_reviewer(user)
    found = session.scalar(select(Citation).where(Citation.public_id == public_id)) if (
        isinstance(public_id, str) and len(public_id) <= 32) else None
    if found is None:
        raise NotFound()
    return found


def translate(session: Session, store: BlobStore, user: User, citation_id: str,
              data: Mapping[str, Any]) -> Translation:
    """A translation of a cited excerpt or page, marked with the translator and date.

    The original (the item, the sealed excerpt) is never touched: the translation is its
    own sealed blob, linked to the citation.
    """
    citation = load_citation(session, user, citation_id)
    language = fields.text(data, "language", 16, required=True)
    if not fields.LANGUAGE_RE.fullmatch(language):
        raise fields.bad("language")
    body = fields.text(data, "text", fields.TEXT_MAX * 4, required=True, multiline=True)
    if citation.excerpt_blob_id is None and citation.page is None:
        raise InvalidInput(N_("Only an excerpt or a document page can be translated."),
                           field="citation")
    subject = f"translation-of:{citation.public_id}"
    with unit_of_work(session):
        begin_write(session)
        row = Translation(public_id=fields.new_id("TRN"), citation_id=citation.id,
                          language=language, translator_id=user.id,
                          text_blob_id=sealed.seal(session, store, {"text": body},
                                                   actor=user.public_id, part_of=subject))
        session.add(row)
        session.flush()
        custody.append(session, actor=user.public_id, action="translated",
                       subject=f"evidence:{citation.item.public_id}",
                       details={"citation": citation.public_id, "translation": row.public_id,
                                "language": language, **registry.locator(citation)})
    return row


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranslationView:
    id: str
    language: str
    translator: str  # the reviewer's public id (pseudonymous)
    date: str
    text: str


@dataclass(frozen=True)
class CitationView:
    id: str
    item: str
    time_start: float | None
    time_end: float | None
    page: int | None
    excerpt: str
    translations: list[TranslationView]


@dataclass(frozen=True)
class ChangeView:
    old: str | None
    new: str
    by: str
    at: str
    reason: str


@dataclass(frozen=True)
class InvolvementView:
    id: str
    incident: str
    actor: str
    actor_name: str
    actor_kind: str
    role: str
    status: str
    uncited: bool
    citations: list[CitationView]
    changes: list[ChangeView]

    @property
    def status_label(self) -> str:
        return "alleged (uncited)" if self.uncited else self.status


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def citation_views(session: Session, store: BlobStore, user: User,
                   citations: Sequence[Citation]) -> list[CitationView]:
    blob_ids = [c.excerpt_blob_id for c in citations] + [
        t.text_blob_id for c in citations for t in c.translations]
    values = sealed.read_many(session, store, blob_ids, actor=user.public_id)
    translators = {u.id: u.public_id for u in session.scalars(select(User).where(
        User.id.in_({t.translator_id for c in citations for t in c.translations})))}
    return [CitationView(
        id=c.public_id, item=c.item.public_id, time_start=_seconds(c.time_start_ms),
        time_end=_seconds(c.time_end_ms), page=c.page,
        excerpt=values.get(c.excerpt_blob_id or "", {}).get("excerpt", ""),
        translations=[TranslationView(
            id=t.public_id, language=t.language, translator=translators.get(t.translator_id, ""),
            date=t.created_at.date().isoformat(),
            text=values.get(t.text_blob_id, {}).get("text", "")) for t in c.translations])
        for c in citations]


def views(session: Session, store: BlobStore, user: User, rows: Sequence[Involvement]
          ) -> list[InvolvementView]:
    registry.require_reviewer(user)
    shown = registry.names(session, store, user, [r.actor for r in rows])
    reasons = sealed.read_many(session, store, [c.reason_blob_id for r in rows
                                                for c in r.changes], actor=user.public_id)
    people = {u.id: u.public_id for u in session.scalars(select(User).where(
        User.id.in_({c.by_id for r in rows for c in r.changes})))}
    incident_ids = {i.id: i.public_id for i in session.scalars(select(Incident).where(
        Incident.id.in_({r.incident_id for r in rows})))}
    return [InvolvementView(
        id=r.public_id, incident=incident_ids[r.incident_id], actor=r.actor.public_id,
        actor_name=shown.get(r.actor.public_id, ""), actor_kind=r.actor.kind.value,
        role=r.role.value, status=r.status.value, uncited=not r.citations,
        citations=citation_views(session, store, user, r.citations),
        changes=[ChangeView(old=c.old_status.value if c.old_status else None,
                            new=c.new_status.value, by=people.get(c.by_id, ""),
                            at=c.created_at.isoformat(),
                            reason=reasons.get(c.reason_blob_id or "", {}).get("reason", ""))
                 for c in r.changes])
        for r in rows]


def translations_for_items(session: Session, store: BlobStore, item_ids: Sequence[int], *,
                           actor: str | None) -> dict[int, list[dict[str, Any]]]:
    """For bundles: each item's translated excerpts and pages, beside the original excerpt.

    {item row id: [{"citation", "locator", "original", "language", "translator", "date",
    "text"}]}; translator is the reviewer's pseudonymous public id. Empty when none.
    """
    if not item_ids:
        return {}
    rows = list(session.scalars(select(Translation).join(Citation).where(
        Citation.item_id.in_(list(item_ids))).order_by(Translation.id)))
    if not rows:
        return {}
    citations = {c.id: c for c in session.scalars(select(Citation).where(
        Citation.id.in_({t.citation_id for t in rows})))}
    values = sealed.read_many(session, store, [t.text_blob_id for t in rows] + [
        c.excerpt_blob_id for c in citations.values()], actor=actor)
    translators = {u.id: u.public_id for u in session.scalars(select(User).where(
        User.id.in_({t.translator_id for t in rows})))}
    found: dict[int, list[dict[str, Any]]] = {}
    for t in rows:
        c = citations[t.citation_id]
        found.setdefault(c.item_id, []).append({
            "citation": c.public_id, "locator": registry.locator(c),
            "original": values.get(c.excerpt_blob_id or "", {}).get("excerpt"),
            "language": t.language, "translator": translators.get(t.translator_id, ""),
            "date": t.created_at.date().isoformat(),
            "text": values.get(t.text_blob_id, {}).get("text", "")})
    return found
