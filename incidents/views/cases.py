"""Cases: list, create, members (admins), linked incidents and evidence, export."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.core.errors import InvalidInput
from incidents.core.vocabulary import CaseKind, Role
from incidents.services import cases, incidents
from incidents.services.bundles import export as bundles
from incidents.services.gazetteer import load_gazetteer
from incidents.services.taxonomy import load_taxonomy
from incidents.web.context import get_blobstore, settings
from incidents.web.db import get_session
from incidents.web.http.forms import form_ids
from incidents.web.http.responses import bundle_response
from incidents.web.i18n import form_errors

blueprint = Blueprint("cases", __name__, url_prefix="/cases")


def _index(values: dict[str, str], error: InvalidInput | None = None) -> tuple[str, int]:
    return render_template("cases/index.html", rows=cases.list_for(get_session(),
                                                                   current_user.user),
                           kinds=list(CaseKind), values=values,
                           errors=form_errors(error)), 400 if error else 200


@blueprint.get("/")
def index() -> tuple[str, int]:
    return _index({})


@blueprint.post("/")
def create() -> Response | tuple[str, int]:
    values = {k: request.form.get(k, "") for k in ("name", "kind", "description")}
    try:
        case = cases.create(get_session(), get_blobstore(), current_user.user, values["name"],
                            values["kind"], values["description"])
    except InvalidInput as error:  # the form again, as typed, the error beside its field
        return _index(values, error)
    return redirect(url_for("cases.show", public_id=case.public_id))


@blueprint.get("/<public_id>")
def show(public_id: str) -> tuple[str, int]:
    session = get_session()
    user = current_user.user
    case = cases.get_for_membership(session, user, public_id)
    member = cases.is_member(session, case, user)
    description = (cases.description_of(session, get_blobstore(), user, case)
                   if member else "")
    plan = bundles.plan(session, user, case_id=public_id) if member else None
    error: InvalidInput | None = None
    try:
        filters = incidents.picker_filters(request.args)
    except InvalidInput as bad:
        filters, error = incidents.picker_filters({}), bad
    in_case = {i.public_id for i in case.items}
    language = str(get_locale())
    return render_template(
        "cases/show.html", case=case, member=member, plan=plan, description=description,
        is_admin=user.role is Role.ADMIN, filters=filters, errors=form_errors(error),
        incident_rows=incidents.incident_choices(
            session, user, filters, exclude=[i.public_id for i in case.incidents],
            zone=settings().display_timezone) if member else (),
        item_rows=incidents.items_to_pick(case.incidents, exclude=in_case) if member else [],
        taxonomy=load_taxonomy(), places=load_gazetteer().choices(language),
        language=language), 400 if error else 200


@blueprint.post("/<public_id>/members")
def add_member(public_id: str) -> Response:
    cases.add_member(get_session(), current_user.user, public_id,
                     request.form.get("member", ""))
    return redirect(url_for("cases.show", public_id=public_id))


@blueprint.post("/<public_id>/members/remove")
def remove_member(public_id: str) -> Response:
    cases.remove_member(get_session(), current_user.user, public_id,
                        request.form.get("member", ""))
    return redirect(url_for("cases.show", public_id=public_id))


@blueprint.post("/<public_id>/incidents")
def add_incidents(public_id: str) -> Response:
    cases.add_incidents(get_session(), current_user.user, public_id, form_ids("incidents"))
    return redirect(url_for("cases.show", public_id=public_id))


@blueprint.post("/<public_id>/items")
def add_items(public_id: str) -> Response:
    cases.add_items(get_session(), current_user.user, public_id, form_ids("items"))
    return redirect(url_for("cases.show", public_id=public_id))


@blueprint.post("/<public_id>/export")
def export(public_id: str) -> Response:
    return bundle_response(bundles.plan(get_session(), current_user.user, case_id=public_id))
