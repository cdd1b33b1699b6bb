"""Reviewers' incident pages: list, create from submissions, edit, merge, split, publish,
export as an evidence bundle."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.services import incidents, review
from incidents.services.bundles import export as bundles
from incidents.services.gazetteer import load_gazetteer
from incidents.services.research.public import LocationPrecision, Verification
from incidents.services.taxonomy import load_taxonomy
from incidents.web.context import get_blobstore
from incidents.web.db import get_session
from incidents.web.http.forms import form_ids
from incidents.web.http.responses import bundle_response

blueprint = Blueprint("incidents", __name__, url_prefix="/incidents")


def _form() -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in request.form.items() if k != "csrf_token"}
    data["categories"] = request.form.getlist("categories")
    data["tags"] = request.form.getlist("tags")
    return data


def _context(**extra: Any) -> dict[str, Any]:
    language = str(get_locale())
    return {"taxonomy": load_taxonomy(), "places": load_gazetteer().choices(language),
            "language": language, "precisions": [p.value for p in LocationPrecision],
            "verifications": [v.value for v in Verification], **extra}


@blueprint.get("/")
def index() -> str:
    rows = incidents.list_all(get_session(), current_user.user)
    return render_template("incidents/index.html", rows=rows)


@blueprint.get("/new")
def new() -> str:
    session = get_session()
    chosen = [review.load_submission(session, current_user.user, s)
              for s in request.args.getlist("submission")]
    values = incidents.input_from_submissions(chosen, "")
    return render_template("incidents/form.html", values=values, incident=None,
                           submissions=[s.public_id for s in chosen], **_context())


@blueprint.post("/")
def create() -> Response | tuple[str, int]:
    session = get_session()
    data = incidents.parse_input(_form())
    incident = incidents.create(session, get_blobstore(), current_user.user, data,
                                submission_ids=form_ids("submissions"), item_ids=form_ids("items"))
    return redirect(url_for("incidents.show", public_id=incident.public_id))


@blueprint.get("/<public_id>")
def show(public_id: str) -> str:
    session = get_session()
    incident = incidents.load(session, current_user.user, public_id)
    description = incidents.descriptions(session, get_blobstore(), current_user.user,
                                         [incident]).get(incident.description_blob_id)
    return render_template("incidents/show.html", incident=incident, description=description,
                           cap=incidents.precision_cap(incident.submissions),
                           history=incidents.history(session, incident),
                           plan=bundles.plan(session, current_user.user,
                                             incident_id=public_id, for_export=False),
                           consented=incidents.witnesses_consented(incident))


@blueprint.get("/<public_id>/edit")
def edit(public_id: str) -> str:
    session = get_session()
    incident = incidents.load(session, current_user.user, public_id)
    description = incidents.description_for_edit(session, get_blobstore(), current_user.user,
                                                 incident)
    values = {
        "title": incident.title, "description": description,
        "summary": incident.summary or "",
        "start_utc": incident.start_utc.isoformat().replace("+00:00", "Z")
        if incident.start_utc else "",
        "end_utc": incident.end_utc.isoformat().replace("+00:00", "Z") if incident.end_utc
        else "",
        "time_precision": incident.time_precision.value, "place": incident.place_id or "",
        "location_precision": incident.location_precision.value,
        "categories": incident.categories, "tags": incident.tags,
        "injured": incident.injured, "detained": incident.detained, "killed": incident.killed,
        "verification": incident.verification.value,
    }
    return render_template("incidents/form.html", values=values, incident=incident,
                           submissions=[], **_context())


@blueprint.post("/<public_id>")
def update(public_id: str) -> Response:
    incidents.update(get_session(), get_blobstore(), current_user.user, public_id,
                     incidents.parse_input(_form()))
    return redirect(url_for("incidents.show", public_id=public_id))


@blueprint.post("/<public_id>/link")
def link(public_id: str) -> Response:
    incidents.link(get_session(), current_user.user, public_id,
                   submission_ids=form_ids("submissions"), item_ids=form_ids("items"))
    return redirect(url_for("incidents.show", public_id=public_id))


@blueprint.post("/<public_id>/publish")
def publish(public_id: str) -> Response:
    wanted = request.form.get("published", "1") == "1"
    incidents.publish(get_session(), current_user.user, public_id, wanted)
    flash(_("Published to researchers.") if wanted else _("Withdrawn from researchers."))
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
