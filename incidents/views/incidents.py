"""Reviewers' incident pages: list, create from submissions, edit, merge, split, publish,
export as an evidence bundle."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.core.errors import DomainError, InvalidInput
from incidents.services import incidents, review
from incidents.services.bundles import export as bundles
from incidents.services.gazetteer import load_gazetteer
from incidents.services.research.public import LocationPrecision, Verification
from incidents.services.taxonomy import load_taxonomy
from incidents.web.context import get_blobstore, get_keys, settings
from incidents.web.db import get_session
from incidents.web.http.forms import form_ids
from incidents.web.http.responses import bundle_response
from incidents.web.i18n import form_errors

blueprint = Blueprint("incidents", __name__, url_prefix="/incidents")


def _form() -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in request.form.items()
                            if k not in ("csrf_token", "action")}
    data["categories"] = request.form.getlist("categories")
    data["tags"] = request.form.getlist("tags")
    return data


def _zone() -> str:
    return settings().display_timezone


def _context(**extra: Any) -> dict[str, Any]:
    language = str(get_locale())
    return {"taxonomy": load_taxonomy(), "places": load_gazetteer().choices(language),
            "language": language, "precisions": list(LocationPrecision),
            "time_precisions": list(incidents.TimePrecision), "verifications": list(Verification),
            "states": list(review.QUEUE_STATES), "zone_name": _zone(), **extra}


def _form_page(values: dict[str, Any] | None, params: Any) -> tuple[Any, DomainError | None]:
    """The new-incident form's pickers; a bad picker filter is reported, not fatal."""
    session, user = get_session(), current_user.user
    chosen = request.values.getlist("submission") + form_ids("submissions")
    chosen_items = request.values.getlist("item") + form_ids("items")
    try:
        return incidents.form_page(session, get_keys(), user, params, chosen=chosen,
                                   chosen_items=chosen_items, zone=_zone(),
                                   values=values), None
    except InvalidInput as error:
        return incidents.form_page(session, get_keys(), user, {}, chosen=chosen,
                                   chosen_items=chosen_items, zone=_zone(),
                                   values=values), error


def _new_form(values: dict[str, Any] | None, params: Any, error: DomainError | None = None,
              status: int = 200) -> tuple[str, int]:
    page, filter_error = _form_page(values, params)
    error = error or filter_error
    return render_template("incidents/form.html", page=page, values=page.values,
                           incident=None, errors=form_errors(error),
                           **_context()), 400 if error else status


@blueprint.get("/")
def index() -> str:
    rows = incidents.list_all(get_session(), current_user.user)
    return render_template("incidents/index.html", rows=rows)


@blueprint.get("/new")
def new() -> tuple[str, int]:
    return _new_form(None, request.args)


@blueprint.post("/")
def create() -> Response | tuple[str, int]:
    form = _form()
    if request.form.get("action") == "search":  # the pickers' filters, without JavaScript
        return _new_form(form, request.form)
    try:
        data = incidents.parse_input(form, zone=_zone())
        incident = incidents.create(get_session(), get_blobstore(), current_user.user, data,
                                    submission_ids=form_ids("submissions"),
                                    item_ids=form_ids("items"))
    except InvalidInput as error:  # the form again, as typed, the error beside its field
        return _new_form(form, request.form, error)
    return redirect(url_for("incidents.show", public_id=incident.public_id))


@blueprint.get("/<public_id>")
def show(public_id: str) -> str:
    session, user = get_session(), current_user.user
    incident = incidents.load(session, user, public_id)
    try:
        filters = incidents.picker_filters(request.args)
        error = None
    except InvalidInput as bad:
        filters, error = incidents.picker_filters({}), bad
    linked = [s.public_id for s in incident.submissions]
    description = incidents.descriptions(session, get_blobstore(), user,
                                         [incident]).get(incident.description_blob_id)
    return render_template(
        "incidents/show.html", incident=incident, description=description, filters=filters,
        errors=form_errors(error),
        cap=incidents.precision_cap(incident.submissions),
        history=incidents.history(session, incident),
        plan=bundles.plan(session, user, incident_id=public_id, for_export=False),
        consented=incidents.witnesses_consented(incident),
        link_choices=incidents.submission_choices(session, get_keys(), user, filters,
                                                  exclude=linked, zone=_zone()),
        merge_choices=incidents.incident_choices(session, user, filters, exclude=[public_id],
                                                 zone=_zone()),
        **_context())


def _edit_form(incident: Any, values: dict[str, Any], error: DomainError | None = None
               ) -> tuple[str, int]:
    return render_template("incidents/form.html", values=values, incident=incident, page=None,
                           errors=form_errors(error), **_context()), 400 if error else 200


@blueprint.get("/<public_id>/edit")
def edit(public_id: str) -> tuple[str, int]:
    session, user = get_session(), current_user.user
    incident = incidents.load(session, user, public_id)
    description = incidents.description_for_edit(session, get_blobstore(), user, incident)
    return _edit_form(incident, incidents.values_from_incident(incident, ZoneInfo(_zone()),
                                                               description))


@blueprint.post("/<public_id>")
def update(public_id: str) -> Response | tuple[str, int]:
    session = get_session()
    form = _form()
    try:
        incidents.update(session, get_blobstore(), current_user.user, public_id,
                         incidents.parse_input(form, zone=_zone()))
    except InvalidInput as error:
        return _edit_form(incidents.load(session, current_user.user, public_id), form, error)
    return redirect(url_for("incidents.show", public_id=public_id))


@blueprint.post("/<public_id>/link")
def link(public_id: str) -> Response:
    incidents.link(get_session(), current_user.user, public_id,
                   submission_ids=form_ids("submissions"), item_ids=form_ids("items"))
    return redirect(url_for("incidents.show", public_id=public_id))


@blueprint.get("/<public_id>/publish")
def preview(public_id: str) -> str:
    found = incidents.preview(get_session(), current_user.user, public_id,
                              gazetteer=load_gazetteer())
    return render_template("incidents/preview.html", preview=found, incident=found.public,
                           forces=found.forces, language=str(get_locale()))


@blueprint.post("/<public_id>/publish")
def publish(public_id: str) -> Response:
    """Publishing only from the preview (its version must still hold); withdrawing at once."""
    if request.form.get("published", "1") == "1":
        incidents.publish_previewed(get_session(), current_user.user, public_id,
                                    request.form.get("version", ""))
        flash(_("Published to researchers."))
    else:
        incidents.publish(get_session(), current_user.user, public_id, False)
        flash(_("Withdrawn from researchers."))
    return redirect(url_for("incidents.show", public_id=public_id))


@blueprint.post("/<public_id>/merge")
def merge(public_id: str) -> Response:
    incidents.merge(get_session(), current_user.user, public_id, form_ids("sources"))
    return redirect(url_for("incidents.show", public_id=public_id))


@blueprint.post("/<public_id>/split")
def split(public_id: str) -> Response:
    new = incidents.split(get_session(), current_user.user, public_id, form_ids("submissions"),
                          request.form.get("title", ""))
    return redirect(url_for("incidents.show", public_id=new.public_id))


@blueprint.post("/<public_id>/export")
def export(public_id: str) -> Response:
    return bundle_response(bundles.plan(get_session(), current_user.user,
                                        incident_id=public_id))
