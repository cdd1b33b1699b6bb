"""Actors, involvement links, command chains and dossiers over the API (reviewers only).

Shapes are the pydantic models of `incidents.api.v1.schemas.actors`; researchers and
contributors are refused by the permission table before any of this runs.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as StreamedResponse

from incidents.api.v1.base import blueprint, json_body
from incidents.api.v1.schemas import actors as shapes
from incidents.services.actors import chain, involvements, registry
from incidents.services.dossiers import export as dossiers
from incidents.web.context import get_blobstore, get_keys, settings
from incidents.web.db import get_session
from incidents.web.http.responses import dossier_response


def _body(model: type[shapes._In]) -> dict[str, Any]:
    return shapes.parse(model, json_body(set(model.model_fields)))


def actor_json(view: registry.ActorView) -> dict[str, Any]:
    return shapes.ActorOut(
        id=view.id, kind=view.kind, force=view.force, place=view.place,  # type: ignore[arg-type]
        name_latin=view.name_latin, name_cyrillic=view.name_cyrillic, aliases=view.aliases,
        transliterations=view.transliterations, details=view.details, photos=view.photos,
        posts=[shapes.PostOut.model_validate(p, from_attributes=True) for p in view.posts],
    ).model_dump()


def involvement_json(view: involvements.InvolvementView) -> dict[str, Any]:
    return shapes.InvolvementOut.model_validate(view, from_attributes=True).model_dump()


@blueprint.get("/actors")
def list_actors() -> Response:
    session, user = get_session(), current_user.user
    rows = registry.list_all(session, user, kind=request.args.get("kind"))
    names = registry.names(session, get_blobstore(), user, rows)
    return jsonify(shapes.ActorList(actors=[shapes.ActorSummary(
        id=a.public_id, kind=a.kind.value, force=a.force.value if a.force else None,
        name=names[a.public_id]) for a in rows]).model_dump())


@blueprint.post("/actors")
def create_actor() -> tuple[Response, int]:
    data = registry.parse_actor(_body(shapes.ActorIn))
    session, store, user = get_session(), get_blobstore(), current_user.user
    actor = registry.create(session, store, user, data)
    response = jsonify(actor_json(registry.view(session, store, user, actor.public_id)))
    response.headers["Location"] = url_for("api_v1.get_actor", public_id=actor.public_id)
    return response, 201


@blueprint.get("/actors/<public_id>")
def get_actor(public_id: str) -> Response:
    return jsonify(actor_json(registry.view(get_session(), get_blobstore(), current_user.user,
                                            public_id)))


@blueprint.put("/actors/<public_id>")
def edit_actor(public_id: str) -> Response:
    body = _body(shapes.ActorEditIn)
    session, store, user = get_session(), get_blobstore(), current_user.user
    registry.edit(session, store, user, public_id, registry.parse_details(body),
                  registry.parse_photos(body))
    return jsonify(actor_json(registry.view(session, store, user, public_id)))


@blueprint.post("/actors/<public_id>/posts")
def add_actor_post(public_id: str) -> tuple[Response, int]:
    data = registry.parse_post(_body(shapes.PostIn))
    session, store, user = get_session(), get_blobstore(), current_user.user
    registry.add_post(session, store, user, public_id, data)
    return jsonify(actor_json(registry.view(session, store, user, public_id))), 201


@blueprint.get("/incidents/<public_id>/involvements")
def list_involvements(public_id: str) -> Response:
    session, user = get_session(), current_user.user
    rows = involvements.for_incident(session, user, public_id)
    views = involvements.views(session, get_blobstore(), user, rows)
    return jsonify({"involvements": [involvement_json(v) for v in views]})


@blueprint.post("/incidents/<public_id>/involvements")
def create_involvement(public_id: str) -> tuple[Response, int]:
    data = involvements.parse(_body(shapes.InvolvementIn))
    session, store, user = get_session(), get_blobstore(), current_user.user
    row = involvements.create(session, store, user, public_id, data)
    (view,) = involvements.views(session, store, user, [row])
    return jsonify(involvement_json(view)), 201


@blueprint.post("/involvements/<public_id>/status")
def involvement_status(public_id: str) -> Response:
    body = _body(shapes.StatusIn)
    session, store, user = get_session(), get_blobstore(), current_user.user
    cited = registry.parse_citations(body)
    row = involvements.set_status(session, store, user, public_id, body["status"],
                                  body["reason"], cited)
    (view,) = involvements.views(session, store, user, [row])
    return jsonify(involvement_json(view))


@blueprint.post("/citations/<public_id>/translations")
def add_translation(public_id: str) -> tuple[Response, int]:
    body = _body(shapes.TranslationIn)
    session, store, user = get_session(), get_blobstore(), current_user.user
    row = involvements.translate(session, store, user, public_id, body)
    citation = involvements.load_citation(session, user, public_id)
    (view,) = involvements.citation_views(session, store, user, [citation])
    added = next(t for t in view.translations if t.id == row.public_id)
    return jsonify(shapes.TranslationOut.model_validate(added, from_attributes=True)
                   .model_dump()), 201


def chain_json(incident_id: str, links: list[chain.ChainLink]) -> dict[str, Any]:
    return shapes.ChainOut(incident=incident_id, links=[shapes.ChainLinkOut(
        unit=lk.unit.public_id, level=lk.level, commander=lk.post.actor.public_id,
        post=lk.post.public_id,
        start=lk.post.start_date.isoformat() if lk.post.start_date else None,
        end=lk.post.end_date.isoformat() if lk.post.end_date else None,
        decision=lk.decision.value if lk.decision else None,
        evidence=[c.item.public_id for c in lk.post.citations]) for lk in links]).model_dump()


@blueprint.get("/incidents/<public_id>/command-chain")
def command_chain(public_id: str) -> Response:
    return jsonify(chain_json(public_id, chain.derive(get_session(), current_user.user,
                                                      public_id)))


@blueprint.post("/incidents/<public_id>/command-chain")
def review_command_chain(public_id: str) -> Response:
    body = _body(shapes.ChainReviewIn)
    session, user = get_session(), current_user.user
    chain.review(session, get_blobstore(), user, public_id, body)
    return jsonify(chain_json(public_id, chain.derive(session, user, public_id)))


@blueprint.post("/dossiers")
def create_dossier() -> StreamedResponse:
    body = _body(shapes.DossierIn)
    return dossier_response(dossiers.prepare(get_session(), get_blobstore(), get_keys(),
                                             settings(), current_user.user, body))
