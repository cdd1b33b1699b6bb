"""Cases: list, create, members (admins), linked incidents and evidence, export."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.core.vocabulary import CaseKind, Role
from incidents.services import cases
from incidents.services.bundles import export as bundles
from incidents.web.context import get_blobstore
from incidents.web.db import get_session
from incidents.web.http.forms import form_ids
from incidents.web.http.responses import bundle_response

blueprint = Blueprint("cases", __name__, url_prefix="/cases")


@blueprint.get("/")
def index() -> str:
    return render_template("cases/index.html", rows=cases.list_for(get_session(),
                                                                   current_user.user),
                           kinds=list(CaseKind))


@blueprint.post("/")
def create() -> Response:
    case = cases.create(get_session(), get_blobstore(), current_user.user,
                        request.form.get("name", ""), request.form.get("kind", ""),
                        request.form.get("description", ""))
    return redirect(url_for("cases.show", public_id=case.public_id))


@blueprint.get("/<public_id>")
def show(public_id: str) -> str:
    session = get_session()
    user = current_user.user
    case = cases.get_for_membership(session, user, public_id)
    member = cases.is_member(session, case, user)
    description = (cases.description_of(session, get_blobstore(), user, case)
                   if member else "")
    plan = bundles.plan(session, user, case_id=public_id) if member else None
    return render_template("cases/show.html", case=case, member=member, plan=plan,
                           description=description,
                           is_admin=user.role is Role.ADMIN)


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
