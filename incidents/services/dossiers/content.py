"""What a dossier says about one person or unit, gathered before anything is rendered.

The sections follow what the UK FCDO's information note for NGOs asks of a designation
submission under the Global Human Rights Sanctions Regulations 2020: the target's
identifying information, the conduct and the target's link to it (each link's role mapped
to the kinds of involvement named in regulation 6), the evidence with its sources and the
reviewers' reliability and credibility grades, and any exculpatory information.

Witnesses appear only as W1, W2... (numbered as in the bundle that rides with the PDF);
items without consent to legal use are listed as withheld and nothing of them (excerpt,
translation, hash) is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import (
    Actor,
    Assessment,
    BlobRecord,
    ChainDecision,
    Citation,
    EvidenceItem,
    Incident,
    InvolvementRole,
    LinkStatus,
    User,
)
from incidents.services import review
from incidents.services.actors import chain, involvements, registry
from incidents.services.actors.involvements import CitationView, InvolvementView
from incidents.services.bundles import export as bundles
from incidents.services.evidence import blobs, sealed
from incidents.services.gazetteer import load_gazetteer
from incidents.services.taxonomy import load_taxonomy
from storage.blobstore import BlobStore

# Kinds of involvement named in regulation 6 of the Global Human Rights Sanctions
# Regulations 2020 (SI 2020/680), as the issue and the FCDO note describe them.
GHR_KINDS: dict[InvolvementRole, str] = {
    InvolvementRole.DIRECT_PERPETRATOR: "engaging in the violation",
    InvolvementRole.PRESENT_UNIT: "engaging in, or supporting, the violation",
    InvolvementRole.COMMANDER: "commanding persons engaged in the violation",
    InvolvementRole.GAVE_ORDER: "responsible for the violation (ordering it)",
    InvolvementRole.DETENTION_FACILITY: "facilitating the violation (place of detention)",
    InvolvementRole.OFFICIAL_RESPONSIBLE: "responsible for the violation",
}
CHAIN_KIND = "commanding, or responsible for commanding, persons engaged in the violation"
EXCULPATORY = frozenset({LinkStatus.DISPUTED.value, LinkStatus.REJECTED.value})


@dataclass
class Exhibit:
    number: str  # "E1"
    item: str
    kind: str
    witness: str  # "W1"; "" when withheld
    sha256: str  # "" when withheld
    path: str  # inside the ZIP; "" when withheld
    grade: str  # latest reliability and credibility, e.g. "B2"; "" when not assessed
    withheld: str  # the reason, or ""


@dataclass
class IncidentPart:
    id: str
    title: str
    start: str
    end: str
    place: str
    categories: list[str]
    links: list[InvolvementView]
    via_chain: bool = False  # named only through the derived command chain


@dataclass
class ChainPart:
    incident: str
    incident_title: str
    level: int
    unit: str
    unit_name: str
    commander: str
    commander_name: str
    post: str
    start: str | None
    end: str | None
    decision: str | None
    reason: str
    citations: list[str]


@dataclass
class DossierContent:
    dossier_id: str
    bundle_id: str
    actor: registry.ActorView
    incidents: list[IncidentPart]
    chain: list[ChainPart]
    exculpatory: list[InvolvementView]
    rejected_chain: list[ChainPart]
    exhibits: list[Exhibit]
    exhibit_of_item: dict[str, str] = field(default_factory=dict)
    plan: bundles.BundlePlan | None = None

    def exhibit_ref(self, item: str) -> str:
        return self.exhibit_of_item.get(item, item)

    def withheld(self, item: str) -> bool:
        return any(e.item == item and e.withheld for e in self.exhibits)

    @staticmethod
    def ghr_kind(role: str) -> str:
        return GHR_KINDS[InvolvementRole(role)]


def _cited_items(views: list[InvolvementView]) -> list[str]:
    return [c.item for v in views for c in v.citations]


def _latest_grades(session: Session, item_ids: list[int]) -> dict[int, str]:
    grades: dict[int, str] = {}
    for row in session.scalars(select(Assessment).where(Assessment.item_id.in_(item_ids))
                               .order_by(Assessment.id)):
        grades[row.item_id] = row.grade  # the latest wins
    return grades


def _chain_parts(session: Session, store: BlobStore, user: User, actor: Actor,
                 incident_rows: list[Incident]) -> list[ChainPart]:
    parts = []
    for incident in incident_rows:
        links = chain.derive(session, user, incident.public_id)
        if actor.kind.value == "person":
            links = [lk for lk in links if lk.post.actor_id == actor.id]
        if not links:
            continue
        people = {lk.post.actor for lk in links} | {lk.unit for lk in links}
        shown = registry.names(session, store, user, list(people))
        reasons = sealed.read_many(session, store, [lk.reason_blob_id for lk in links],
                                   actor=user.public_id)
        for lk in links:
            parts.append(ChainPart(
                incident=incident.public_id, incident_title=incident.title, level=lk.level,
                unit=lk.unit.public_id, unit_name=shown.get(lk.unit.public_id, ""),
                commander=lk.post.actor.public_id,
                commander_name=shown.get(lk.post.actor.public_id, ""),
                post=lk.post.public_id,
                start=lk.post.start_date.isoformat() if lk.post.start_date else None,
                end=lk.post.end_date.isoformat() if lk.post.end_date else None,
                decision=lk.decision.value if lk.decision else None,
                reason=reasons.get(lk.reason_blob_id or "", {}).get("reason", ""),
                citations=[c.item.public_id for c in lk.post.citations]))
    return parts


def gather(session: Session, store: BlobStore, user: User, actor_id: str, *,
           dossier_id: str, bundle_id: str) -> DossierContent:
    """Everything the dossier shows (sealed values read with "viewed" events)."""
    actor = registry.load(session, user, actor_id, field="actor")
    actor_view = registry.view(session, store, user, actor.public_id)
    rows = involvements.for_actor(session, actor)
    link_views = involvements.views(session, store, user, rows)
    incident_rows = {i.id: i for i in session.scalars(select(Incident).where(
        Incident.id.in_({r.incident_id for r in rows})))}
    commanded = chain.incidents_commanded(session, user, actor) if (
        actor.kind.value == "person") else []
    chain_incidents = list({**incident_rows, **{i.id: i for i in commanded}}.values())
    chain_incidents.sort(key=lambda i: (i.start_utc is None, i.start_utc, i.public_id))
    chain_parts = _chain_parts(session, store, user, actor, chain_incidents)

    gazetteer, taxonomy = load_gazetteer(), load_taxonomy()
    parts: list[IncidentPart] = []
    by_incident: dict[str, list[InvolvementView]] = {}
    for v in link_views:
        by_incident.setdefault(v.incident, []).append(v)
    chained = {p.incident for p in chain_parts}
    shown_incidents = list(incident_rows.values()) + [
        i for i in commanded if i.id not in incident_rows and i.public_id in chained]
    for incident in sorted(shown_incidents,
                           key=lambda i: (i.start_utc is None, i.start_utc, i.public_id)):
        place = gazetteer.get(incident.place_id)
        parts.append(IncidentPart(
            id=incident.public_id, title=incident.title,
            start=incident.start_utc.strftime("%Y-%m-%d %H:%M UTC") if incident.start_utc
            else "unknown",
            end=incident.end_utc.strftime("%Y-%m-%d %H:%M UTC") if incident.end_utc else "",
            place=place.name("en") if place else "not stated",
            categories=[taxonomy.label(c, "en") for c in incident.categories],
            links=[v for v in by_incident.get(incident.public_id, [])
                   if v.status not in EXCULPATORY],
            via_chain=incident.id not in incident_rows))

    # Exhibits: every cited item, the photos, the evidence for each chain post.
    post_items = [c for p in actor_view.posts for c in _post_items(session, p.citations)]
    wanted = list(dict.fromkeys(
        actor_view.photos + _cited_items(link_views) + post_items
        + [i for part in chain_parts for i in part.citations]))
    content = DossierContent(
        dossier_id=dossier_id, bundle_id=bundle_id, actor=actor_view, incidents=parts,
        chain=[c for c in chain_parts if c.decision != ChainDecision.REJECTED.value],
        exculpatory=[v for v in link_views if v.status in EXCULPATORY],
        rejected_chain=[c for c in chain_parts if c.decision == ChainDecision.REJECTED.value],
        exhibits=[])
    if wanted:
        plan = bundles.plan(session, user, evidence_ids=wanted)
        content.plan = plan
        _exhibits(session, store, content, plan)
    return content


def _post_items(session: Session, citation_ids: list[str]) -> list[str]:
    if not citation_ids:
        return []
    return list(session.scalars(select(EvidenceItem.public_id).join_from(
        EvidenceItem, Citation, Citation.item_id == EvidenceItem.id)
        .where(Citation.public_id.in_(citation_ids))))


def _exhibits(session: Session, store: BlobStore, content: DossierContent,
              plan: bundles.BundlePlan) -> None:
    """Number the exhibits; witnesses numbered as `bundles.prepare` numbers them."""
    grades = _latest_grades(session, [i.id for i in plan.items])
    witnesses: dict[int, str] = {}
    n = 0
    for item in plan.items:  # sorted by public id, as the bundle is
        n += 1
        witness = witnesses.setdefault(item.submission.owner_id, f"W{len(witnesses) + 1}")
        record = session.get(BlobRecord, item.blob_id)
        assert record is not None
        sha256, _salt = blobs.unseal_digest(store.keys, record)
        filename = review.download_name(session, item)
        content.exhibits.append(Exhibit(
            number=f"E{n}", item=item.public_id, kind=item.kind.value, witness=witness,
            sha256=sha256, path=f"{content.bundle_id}/data/originals/{filename}",
            grade=grades.get(item.id, ""), withheld=""))
    for w in plan.withheld:
        n += 1
        content.exhibits.append(Exhibit(number=f"E{n}", item=w["item"], kind="", witness="",
                                        sha256="", path="", grade="", withheld=w["reason"]))
    content.exhibit_of_item = {e.item: e.number for e in content.exhibits}


def shown_citation(content: DossierContent, citation: CitationView) -> CitationView:
    """A citation as the PDF may show it: nothing of an item withheld for consent."""
    if not content.withheld(citation.item):
        return citation
    return CitationView(id=citation.id, item=citation.item, time_start=None, time_end=None,
                        page=None, excerpt="", translations=[])
