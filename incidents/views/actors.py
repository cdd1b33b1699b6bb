"""Reviewers' pages for actors, incidents' involvement links, command chains and dossiers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.services import incidents
from incidents.services.actors import chain, inputs, involvements, registry
from incidents.services.dossiers import export as dossiers
from incidents.web.context import get_blobstore, get_keys, settings
from incidents.web.db import get_session
from incidents.web.http.forms import safe_next
from incidents.web.http.responses import dossier_response

blueprint = Blueprint("actors", __name__, url_prefix="/actors")


def _form(*lists: str) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in request.form.items() if k != "csrf_token"}
    for name in lists:
        data[name] = [v for v in request.form.get(name, "").splitlines() if v.strip()]
    return data


def _citation(prefix: str = "") -> list[dict[str, Any]]:
    """The one citation a page form carries (fields `item`, `time_start`, ...), if any."""
    item = request.form.get(f"{prefix}item", "").strip()
    if not item:
        return []
    return [{name: request.form.get(f"{prefix}{name}", "")
             for name in ("item", "time_start", "time_end", "page", "excerpt")}]


@blueprint.get("/")
def index() -> str:
    session, user = get_session(), current_user.user
    rows = registry.list_all(session, user, kind=request.args.get("kind"))
    names = registry.names(session, get_blobstore(), user, rows)
    return render_template("actors/index.html", rows=rows, names=names,
                           kinds=registry.ACTOR_KINDS)


@blueprint.get("/new")
def new() -> str:
    registry.require_reviewer(current_user.user)
    return render_template("actors/new.html", kinds=registry.ACTOR_KINDS,
                           forces=registry.FORCES)


@blueprint.post("/")
def create() -> Response:
    data = inputs.parse_actor(_form("aliases", "transliterations", "photos"))
    actor = registry.create(get_session(), get_blobstore(), current_user.user, data)
    return redirect(url_for("actors.show", public_id=actor.public_id))


@blueprint.get("/<public_id>")
def show(public_id: str) -> str:
    session, store, user = get_session(), get_blobstore(), current_user.user
    view = registry.view(session, store, user, public_id)
    actor = registry.load(session, user, public_id)
    links = involvements.views(session, store, user, involvements.for_actor(session, actor))
    return render_template("actors/show.html", actor=view, links=links,
                           history=registry.history(session, actor),
                           post_kinds=registry.POST_KINDS)


@blueprint.post("/<public_id>/posts")
def add_post(public_id: str) -> Response:
    data = _form()
    data["citations"] = _citation()
    registry.add_post(get_session(), get_blobstore(), current_user.user, public_id,
                      inputs.parse_post(data))
    return redirect(url_for("actors.show", public_id=public_id))


@blueprint.post("/<public_id>/dossier")
def dossier(public_id: str) -> Response:
    return dossier_response(dossiers.prepare(get_session(), get_blobstore(), get_keys(),
                                             settings(), current_user.user,
                                             {"actor": public_id}))


@blueprint.get("/incidents/<public_id>")
def incident(public_id: str) -> str:
    session, store, user = get_session(), get_blobstore(), current_user.user
    found = incidents.load(session, user, public_id)
    links = involvements.views(session, store, user,
                               involvements.for_incident(session, user, public_id))
    derived = chain.derive(session, user, public_id)
    names = registry.names(session, store, user,
                           [lk.unit for lk in derived] + [lk.post.actor for lk in derived])
    return render_template("actors/incident.html", incident=found, links=links,
                           chain=derived, names=names,
                           roles=involvements.ROLES, statuses=involvements.STATUSES)


@blueprint.post("/incidents/<public_id>/involvements")
def link(public_id: str) -> Response:
    data = _form()
    data["citations"] = _citation()
    involvements.create(get_session(), get_blobstore(), current_user.user, public_id,
                        involvements.parse(data))
    return redirect(url_for("actors.incident", public_id=public_id))


@blueprint.post("/involvements/<public_id>/status")
def status(public_id: str) -> Response:
    session, user = get_session(), current_user.user
    row = involvements.set_status(session, get_blobstore(), user, public_id,
                                  request.form.get("status"), request.form.get("reason"),
                                  inputs.parse_citations({"citations": _citation()}))
    return redirect(url_for("actors.incident",
                            public_id=involvements.incident_of(session, row)))


@blueprint.post("/citations/<public_id>/translations")
def translate(public_id: str) -> Response:
    session, user = get_session(), current_user.user
    involvements.translate(session, get_blobstore(), user, public_id, _form())
    return redirect(safe_next(request.form.get("back_to"), url_for("actors.index")))


@blueprint.post("/incidents/<public_id>/chain")
def review_chain(public_id: str) -> Response:
    chain.review(get_session(), get_blobstore(), current_user.user, public_id, _form())
    return redirect(url_for("actors.incident", public_id=public_id))
