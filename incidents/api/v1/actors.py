"""Actors, involvement links, command chains and dossiers over the API (reviewers only).

Shapes are the models of `incidents.api.v1.schemas.actors`, declared with `documented`
like every other endpoint; researchers and contributors are refused by the permission
table before any of this runs.
"""

from __future__ import annotations

from flask import Response, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as StreamedResponse

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas import actors as shapes
from incidents.api.v1.schemas.base import documented, reply
from incidents.services.actors import chain, inputs, involvements, registry
from incidents.services.dossiers import export as dossiers
from incidents.web.context import get_blobstore, get_keys, settings
from incidents.web.db import get_session
from incidents.web.http.responses import dossier_response

KIND = ({"name": "kind", "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["person", "unit", "facility"]}},)
ZIP = {"responses": {"200": {
    "description": "The dossier: dossier.pdf beside the evidence bundle (a BagIt bag), in a "
                   "ZIP, streamed",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}}}


def actor_out(view: registry.ActorView) -> shapes.ActorOut:
    return shapes.ActorOut(
        id=view.id, kind=view.kind, force=view.force, place=view.place,  # type: ignore[arg-type]
        name_latin=view.name_latin, name_cyrillic=view.name_cyrillic, aliases=view.aliases,
        transliterations=view.transliterations, details=view.details, photos=view.photos,
        posts=[shapes.PostOut.model_validate(p, from_attributes=True) for p in view.posts])


def involvement_out(view: involvements.InvolvementView) -> shapes.InvolvementOut:
    return shapes.InvolvementOut.model_validate(view, from_attributes=True)


@blueprint.get("/actors")
@documented("Actors (persons, units, facilities): reviewers only", response=shapes.ActorList,
            parameters=KIND)
def list_actors() -> Response:
    session, user = get_session(), current_user.user
    rows = registry.list_all(session, user, kind=request.args.get("kind"))
    names = registry.names(session, get_blobstore(), user, rows)
    return reply(shapes.ActorList(actors=[shapes.ActorSummary(
        id=a.public_id, kind=a.kind.value, force=a.force.value if a.force else None,
        name=names[a.public_id]) for a in rows]))


@blueprint.post("/actors")
@documented("Record an actor (sealed; a custody event)", body=shapes.ActorIn,
            response=shapes.ActorOut, status=201, errors=(404,))
def create_actor(body: shapes.ActorIn) -> Response:
    data = inputs.parse_actor(body.model_dump())
    session, store, user = get_session(), get_blobstore(), current_user.user
    actor = registry.create(session, store, user, data)
    response = reply(actor_out(registry.view(session, store, user, actor.public_id)), 201)
    response.headers["Location"] = url_for("api_v1.get_actor", public_id=actor.public_id)
    return response


@blueprint.get("/actors/<public_id>")
@documented("One actor with its posts", response=shapes.ActorOut, errors=(404,))
def get_actor(public_id: str) -> Response:
    return reply(actor_out(registry.view(get_session(), get_blobstore(), current_user.user,
                                         public_id)))


@blueprint.put("/actors/<public_id>")
@documented("A new version of the names and details (the previous one is kept; a custody "
            "event)", body=shapes.ActorEditIn, response=shapes.ActorOut, errors=(404,))
def edit_actor(public_id: str, body: shapes.ActorEditIn) -> Response:
    data = body.model_dump()
    session, store, user = get_session(), get_blobstore(), current_user.user
    registry.edit(session, store, user, public_id, inputs.parse_details(data),
                  inputs.parse_photos(data))
    return reply(actor_out(registry.view(session, store, user, public_id)))


@blueprint.post("/actors/<public_id>/posts")
@documented("Add a post (membership, command, parent unit) over a date range",
            body=shapes.PostIn, response=shapes.ActorOut, status=201, errors=(404,))
def add_actor_post(public_id: str, body: shapes.PostIn) -> Response:
    data = inputs.parse_post(body.model_dump())
    session, store, user = get_session(), get_blobstore(), current_user.user
    registry.add_post(session, store, user, public_id, data)
    return reply(actor_out(registry.view(session, store, user, public_id)), 201)


@blueprint.get("/incidents/<public_id>/involvements")
@documented("The incident's involvement links", response=shapes.InvolvementList,
            errors=(404,))
def list_involvements(public_id: str) -> Response:
    session, user = get_session(), current_user.user
    rows = involvements.for_incident(session, user, public_id)
    views = involvements.views(session, get_blobstore(), user, rows)
    return reply(shapes.InvolvementList(involvements=[involvement_out(v) for v in views]))


@blueprint.post("/incidents/<public_id>/involvements")
@documented("Link an actor to the incident with a role, a status and citations (uncited "
            "links only as alleged)", body=shapes.InvolvementIn,
            response=shapes.InvolvementOut, status=201, errors=(404, 409))
def create_involvement(public_id: str, body: shapes.InvolvementIn) -> Response:
    data = involvements.parse(body.model_dump())
    session, store, user = get_session(), get_blobstore(), current_user.user
    row = involvements.create(session, store, user, public_id, data)
    (view,) = involvements.views(session, store, user, [row])
    return reply(involvement_out(view), 201)


@blueprint.post("/involvements/<public_id>/status")
@documented("Move a link's status, with a reason (and more citations)", body=shapes.StatusIn,
            response=shapes.InvolvementOut, errors=(404,))
def involvement_status(public_id: str, body: shapes.StatusIn) -> Response:
    data = body.model_dump()
    session, store, user = get_session(), get_blobstore(), current_user.user
    cited = inputs.parse_citations(data)
    row = involvements.set_status(session, store, user, public_id, data["status"],
                                  data["reason"], cited)
    (view,) = involvements.views(session, store, user, [row])
    return reply(involvement_out(view))


@blueprint.post("/citations/<public_id>/translations")
@documented("Translate a cited excerpt or page (the original is never altered)",
            body=shapes.TranslationIn, response=shapes.TranslationOut, status=201,
            errors=(404,))
def add_translation(public_id: str, body: shapes.TranslationIn) -> Response:
    session, store, user = get_session(), get_blobstore(), current_user.user
    row = involvements.translate(session, store, user, public_id, body.model_dump())
    citation = involvements.load_citation(session, user, public_id)
    (view,) = involvements.citation_views(session, store, user, [citation])
    added = next(t for t in view.translations if t.id == row.public_id)
    return reply(shapes.TranslationOut.model_validate(added, from_attributes=True), 201)


def chain_out(incident_id: str, links: list[chain.ChainLink]) -> shapes.ChainOut:
    return shapes.ChainOut(incident=incident_id, links=[shapes.ChainLinkOut(
        unit=lk.unit.public_id, level=lk.level, commander=lk.post.actor.public_id,
        post=lk.post.public_id,
        start=lk.post.start_date.isoformat() if lk.post.start_date else None,
        end=lk.post.end_date.isoformat() if lk.post.end_date else None,
        decision=lk.decision.value if lk.decision else None,
        evidence=[c.item.public_id for c in lk.post.citations]) for lk in links])


@blueprint.get("/incidents/<public_id>/command-chain")
@documented("The derived command chain at the incident's time", response=shapes.ChainOut,
            errors=(404,))
def command_chain(public_id: str) -> Response:
    return reply(chain_out(public_id, chain.derive(get_session(), current_user.user,
                                                   public_id)))


@blueprint.post("/incidents/<public_id>/command-chain")
@documented("Confirm or reject one derived link", body=shapes.ChainReviewIn,
            response=shapes.ChainOut, errors=(404,))
def review_command_chain(public_id: str, body: shapes.ChainReviewIn) -> Response:
    session, user = get_session(), current_user.user
    chain.review(session, get_blobstore(), user, public_id, body.model_dump())
    return reply(chain_out(public_id, chain.derive(session, user, public_id)))


@blueprint.post("/dossiers")
@documented("A sanctions dossier for one person or unit: dossier.pdf and the evidence "
            "bundle of every cited item (items without consent to legal use withheld); its "
            "hash recorded in the ledger", body=shapes.DossierIn, errors=(404,),
            fragment=ZIP)
def create_dossier(body: shapes.DossierIn) -> StreamedResponse:
    return dossier_response(dossiers.prepare(get_session(), get_blobstore(), get_keys(),
                                             settings(), current_user.user, body.model_dump()))
