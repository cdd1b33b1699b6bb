"""Cases over the API: members only (admins manage membership)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, jsonify
from flask_login import current_user

from incidents.api.v1.base import blueprint, json_body, string_list
from incidents.core.clock import iso
from incidents.services import cases
from incidents.web.db import get_session

if TYPE_CHECKING:  # annotations only: faces reach data through services (import-linter)
    from incidents.models import Case


def case_json(case: Case, *, contents: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"id": case.public_id, "name": case.name, "kind": case.kind.value,
                            "created_at": iso(case.created_at),
                            "members": [m.pseudonym for m in case.members]}
    if contents:
        body.update(description=case.description,
                    incidents=[i.public_id for i in case.incidents],
                    items=[i.public_id for i in case.items])
    return body


@blueprint.get("/cases")
def list_cases() -> Response:
    rows = cases.list_for(get_session(), current_user.user)
    return jsonify({"cases": [case_json(c, contents=False) for c in rows]})


@blueprint.post("/cases")
def create_case() -> tuple[Response, int]:
    data = json_body({"name", "kind", "description"})
    case = cases.create(get_session(), current_user.user, data.get("name", ""),
                        str(data.get("kind", "")), data.get("description", ""))
    return jsonify(case_json(case)), 201


@blueprint.get("/cases/<public_id>")
def get_case(public_id: str) -> Response:
    return jsonify(case_json(cases.get(get_session(), current_user.user, public_id)))


@blueprint.post("/cases/<public_id>/members")
def case_members(public_id: str) -> Response:
    """Admins: {"add": [pseudonyms], "remove": [pseudonyms]}."""
    data = json_body({"add", "remove"})
    case = cases.change_members(get_session(), current_user.user, public_id,
                                add=string_list(data, "add"), remove=string_list(data, "remove"))
    return jsonify(case_json(case, contents=False))


@blueprint.post("/cases/<public_id>/incidents")
def case_incidents(public_id: str) -> Response:
    data = json_body({"incidents"})
    case = cases.add_incidents(get_session(), current_user.user, public_id,
                               string_list(data, "incidents"))
    return jsonify(case_json(case))


@blueprint.post("/cases/<public_id>/items")
def case_items(public_id: str) -> Response:
    data = json_body({"items"})
    case = cases.add_items(get_session(), current_user.user, public_id, string_list(data, "items"))
    return jsonify(case_json(case))
