"""Cases over the API: members only (admins manage membership)."""

from __future__ import annotations

from flask import Response
from flask_login import current_user

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.base import documented, reply
from incidents.api.v1.schemas.cases import (
    CaseIn,
    CaseIncidentsIn,
    CaseItemsIn,
    CaseListOut,
    CaseOut,
    CaseSummaryOut,
    MembersIn,
)
from incidents.services import cases
from incidents.services.cases import Case
from incidents.web.context import get_blobstore
from incidents.web.db import get_session


def _case_out(case: Case) -> Response:
    session, user = get_session(), current_user.user
    return reply(CaseOut.of(case, cases.description_of(session, get_blobstore(), user, case)))


@blueprint.get("/cases")
@documented("Your cases (admins: all, names and members only)", response=CaseListOut)
def list_cases() -> Response:
    rows = cases.list_for(get_session(), current_user.user)
    return reply(CaseListOut(cases=[CaseSummaryOut.of(c) for c in rows]))


@blueprint.post("/cases")
@documented("Create a case (you become its first member)", body=CaseIn, response=CaseOut,
            status=201)
def create_case(body: CaseIn) -> Response:
    case = cases.create(get_session(), get_blobstore(), current_user.user, body.name,
                        body.kind, body.description)
    return reply(CaseOut.of(case, body.description.strip()), 201)


@blueprint.get("/cases/<public_id>")
@documented("A case (members only: 403 otherwise)", response=CaseOut, errors=(404,))
def get_case(public_id: str) -> Response:
    return _case_out(cases.get(get_session(), current_user.user, public_id))


@blueprint.post("/cases/<public_id>/members")
@documented("Admins: add or remove members by pseudonym", body=MembersIn,
            response=CaseSummaryOut, errors=(404,))
def case_members(public_id: str, body: MembersIn) -> Response:
    """Admins: {"add": [pseudonyms], "remove": [pseudonyms]}."""
    case = cases.change_members(get_session(), current_user.user, public_id,
                                add=body.add, remove=body.remove)
    return reply(CaseSummaryOut.of(case))


@blueprint.post("/cases/<public_id>/incidents")
@documented("Add incidents to a case (members only)", body=CaseIncidentsIn,
            response=CaseOut, errors=(404,))
def case_incidents(public_id: str, body: CaseIncidentsIn) -> Response:
    case = cases.add_incidents(get_session(), current_user.user, public_id, body.incidents)
    return _case_out(case)


@blueprint.post("/cases/<public_id>/items")
@documented("Add evidence items to a case (members only)", body=CaseItemsIn,
            response=CaseOut, errors=(404,))
def case_items(public_id: str, body: CaseItemsIn) -> Response:
    case = cases.add_items(get_session(), current_user.user, public_id, body.items)
    return _case_out(case)
