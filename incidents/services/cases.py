"""Cases: named collections of incidents and evidence for one proceeding, with members.

Only members see a case's contents and export from it (a non-member reviewer gets 403, not
404: reviewers know cases exist, from the list of names an admin shares). Admins manage
membership and see every case's name and members, but not its contents unless they are
members themselves. Adding incidents or items checks membership for every item added.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from incidents.core.database import unit_of_work
from incidents.core.errors import N_, Forbidden, InvalidInput, NotFound
from incidents.models import (
    Case,
    CaseIncident,
    CaseItem,
    CaseKind,
    CaseMember,
    EvidenceItem,
    Incident,
    IncidentItem,
    Role,
    User,
)
from incidents.models.cases import NAME_MAX
from incidents.services import accounts, custody
from incidents.services.access import STAFF
from incidents.services.evidence import sealed
from storage.blobstore import BlobStore

DESCRIPTION_MAX = 10_000


def new_case_id() -> str:
    return "CASE-" + secrets.token_hex(6)


def is_member(session: Session, case: Case, user: User) -> bool:
    return bool(session.scalar(select(exists().where(CaseMember.case_id == case.id,
                                                     CaseMember.user_id == user.id))))


def require_export(session: Session, user: User, items: Sequence[EvidenceItem],
                   incident: Incident | None = None) -> None:
    """The one export rule: what belongs to a case leaves only with a member of it.

    Each item (and the incident, when a whole incident is exported) that belongs to any
    case, directly or through an incident of the case, may be exported only by a member
    of at least one of those cases; anything in no case, by any reviewer. Checked per item:
    one item of someone else's case makes the whole export 403.
    """
    mine = set(session.scalars(select(CaseMember.case_id).where(CaseMember.user_id == user.id)))
    ids = [item.id for item in items]
    holding: dict[int, set[int]] = {}
    for start in range(0, len(ids), 500):  # bound the IN lists
        chunk = ids[start:start + 500]
        direct = session.execute(select(CaseItem.item_id, CaseItem.case_id)
                                 .where(CaseItem.item_id.in_(chunk)))
        through = session.execute(
            select(IncidentItem.item_id, CaseIncident.case_id)
            .join(CaseIncident, CaseIncident.incident_id == IncidentItem.incident_id)
            .where(IncidentItem.item_id.in_(chunk)))
        for item_id, case_id in [*direct, *through]:
            holding.setdefault(item_id, set()).add(case_id)
    if incident is not None:
        incident_cases = set(session.scalars(select(CaseIncident.case_id).where(
            CaseIncident.incident_id == incident.id)))
        if incident_cases:
            holding[-1] = incident_cases
    if any(not (case_ids & mine) for case_ids in holding.values()):
        raise Forbidden()


def _find(session: Session, public_id: str) -> Case:
    if not isinstance(public_id, str) or len(public_id) > 32:
        raise NotFound()
    case = session.scalar(select(Case).where(Case.public_id == public_id))
    if case is None:
        raise NotFound()
    return case


def get(session: Session, user: User, public_id: str) -> Case:
    """A case its member may open (contents, export); anyone else: 403."""
    if user.role not in STAFF:
        raise Forbidden()
    case = _find(session, public_id)
    if not is_member(session, case, user):
        raise Forbidden()
    return case


def get_for_membership(session: Session, user: User, public_id: str) -> Case:
    """A case for managing its members: admins, or its members (read only)."""
    if user.role is Role.ADMIN:
        return _find(session, public_id)
    return get(session, user, public_id)


def list_for(session: Session, user: User) -> list[Case]:
    """The cases `user` is a member of; admins see every case (to manage membership)."""
    if user.role not in STAFF:
        raise Forbidden()
    query = select(Case).order_by(Case.created_at.desc(), Case.id.desc())
    if user.role is not Role.ADMIN:
        query = query.where(exists().where(CaseMember.case_id == Case.id,
                                           CaseMember.user_id == user.id))
    return list(session.scalars(query))


def create(session: Session, store: BlobStore, user: User, name: str, kind: str,
           description: str = "") -> Case:
    """A new case; its creator is its first member. The description is sealed text."""
    if user.role not in STAFF:
        raise Forbidden()
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > NAME_MAX or "\x00" in name:
        raise InvalidInput(N_("Give the case a name (at most 200 characters)."), field="name")
    try:
        case_kind = CaseKind(kind)
    except ValueError as e:
        raise InvalidInput(N_("The field %(name)s is not valid."), field="kind",
                           name="kind") from e
    description = description.strip() if isinstance(description, str) else ""
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(N_("The field %(name)s is too long or has a NUL byte."),
                           field="description", name="description")
    with unit_of_work(session):
        public_id = new_case_id()
        case = Case(public_id=public_id, name=name, kind=case_kind, created_by_id=user.id,
                    description_blob_id=sealed.seal_text(session, store, description,
                                                         actor=user.public_id,
                                                         part_of=f"case:{public_id}"))
        session.add(case)
        session.flush()
        session.add(CaseMember(case_id=case.id, user_id=user.id, added_by_id=user.id))
        custody.append(session, actor=user.public_id, action="case_created", subject=case.subject,
                       details={"kind": case_kind.value})
    return case


def description_of(session: Session, store: BlobStore, user: User, case: Case) -> str | None:
    """A case's description for a member ("" if none; None while the vault is sealed), a
    "viewed" event naming them; admins who are not members manage membership only."""
    if not is_member(session, case, user):
        raise Forbidden()
    texts = sealed.read_texts(session, store, [case.description_blob_id],
                              actor=user.public_id)
    return texts.get(case.description_blob_id)


def _user(session: Session, pseudonym: str) -> User:
    return accounts.find_staff(session, pseudonym, field="member")


def add_member(session: Session, admin: User, public_id: str, pseudonym: str) -> Case:
    if admin.role is not Role.ADMIN:
        raise Forbidden()
    case = _find(session, public_id)
    member = _user(session, pseudonym)
    with unit_of_work(session):
        if session.get(CaseMember, (case.id, member.id)) is None:
            session.add(CaseMember(case_id=case.id, user_id=member.id, added_by_id=admin.id))
            custody.append(session, actor=admin.public_id, action="case_member_added",
                           subject=case.subject, details={"member": member.public_id})
    return case


def remove_member(session: Session, admin: User, public_id: str, pseudonym: str) -> Case:
    if admin.role is not Role.ADMIN:
        raise Forbidden()
    case = _find(session, public_id)
    member = _user(session, pseudonym)
    with unit_of_work(session):
        row = session.get(CaseMember, (case.id, member.id))
        if row is not None:
            session.delete(row)
            custody.append(session, actor=admin.public_id, action="case_member_removed",
                           subject=case.subject, details={"member": member.public_id})
    session.expire(case)
    return case


def change_members(session: Session, admin: User, public_id: str, *, add: Sequence[str] = (),
                   remove: Sequence[str] = ()) -> Case:
    """Add and remove members in one unit of work: one bad name and nothing changes."""
    case = get_for_membership(session, admin, public_id)
    with unit_of_work(session):
        for name in add:
            case = add_member(session, admin, public_id, name)
        for name in remove:
            case = remove_member(session, admin, public_id, name)
    return case


def add_incidents(session: Session, user: User, public_id: str, incident_ids: Sequence[str]
                  ) -> Case:
    return _link(session, user, public_id, incident_ids, model=Incident, field="incidents",
                 missing=N_("No incident has the id %(id)s."),
                 link=lambda case, row: CaseIncident(case_id=case.id, incident_id=row.id))


def add_items(session: Session, user: User, public_id: str, item_ids: Sequence[str]) -> Case:
    return _link(session, user, public_id, item_ids, model=EvidenceItem, field="items",
                 missing=N_("No evidence item has the id %(id)s."),
                 link=lambda case, row: CaseItem(case_id=case.id, item_id=row.id))


def _link(session: Session, user: User, public_id: str, wanted: Sequence[str], *,
          model: Any, field: str, missing: str, link: Callable[[Case, Any], Any]) -> Case:
    """Add incidents or items to a case, each once, as one "case_linked" event."""
    with unit_of_work(session):
        added: list[str] = []
        for wanted_id in dict.fromkeys(wanted):
            case = get(session, user, public_id)  # membership checked for every one added
            row = session.scalar(select(model).where(model.public_id == wanted_id))
            if row is None:
                raise InvalidInput(missing, field=field, id=str(wanted_id)[:40])
            new = link(case, row)
            if session.get(type(new), (case.id, row.id)) is None:
                session.add(new)
                added.append(row.public_id)
        case = get(session, user, public_id)
        if added:
            custody.append(session, actor=user.public_id, action="case_linked",
                           subject=case.subject, details={field: added})
    session.expire(case)
    return case


def items_of(case: Case) -> list[EvidenceItem]:
    """Every evidence item of a case: its own and those of its incidents, once each."""
    found = {i.id: i for i in case.items}
    for incident in case.incidents:
        for item in incident.items:
            found.setdefault(item.id, item)
    return [found[k] for k in sorted(found)]
