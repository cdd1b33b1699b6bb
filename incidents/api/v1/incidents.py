"""Reviewers' incidents over the API, under /api/v1/review/incidents (staff only).

(/api/v1/incidents is the researchers' list of published incidents.)
"""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask_login import current_user

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.base import documented, reply
from incidents.api.v1.schemas.incidents import (
    IncidentCreateIn,
    IncidentFieldsIn,
    IncidentListOut,
    IncidentOut,
    MergeIn,
    PublishIn,
    SplitIn,
)
from incidents.services import incidents
from incidents.web.context import get_blobstore
from incidents.web.db import get_session


def _out(incident: Any, status: int = 200) -> Response:
    texts = incidents.descriptions(get_session(), get_blobstore(), current_user.user,
                                   [incident])
    return reply(IncidentOut.of(incident, texts.get(incident.description_blob_id)), status)


@blueprint.get("/review/incidents")
@documented("Incidents (reviewers' view, published or not)", response=IncidentListOut)
def review_incidents() -> Response:
    session, user = get_session(), current_user.user
    rows = incidents.list_all(session, user)
    texts = incidents.descriptions(session, get_blobstore(), user, rows)
    return reply(IncidentListOut(incidents=[
        IncidentOut.of(i, texts.get(i.description_blob_id)) for i in rows]))


@blueprint.post("/review/incidents")
@documented("Create an incident from submissions and items", body=IncidentCreateIn,
            response=IncidentOut, status=201, errors=(404,))
def review_create_incident(body: IncidentCreateIn) -> Response:
    incident = incidents.create(get_session(), get_blobstore(), current_user.user,
                                incidents.parse_input(body.data()),
                                submission_ids=body.submissions, item_ids=body.items)
    response = _out(incident, 201)
    response.headers["Location"] = url_for("api_v1.review_incident",
                                           public_id=incident.public_id)
    return response


@blueprint.get("/review/incidents/<public_id>")
@documented("One incident (reviewers' view)", response=IncidentOut, errors=(404,))
def review_incident(public_id: str) -> Response:
    return _out(incidents.load(get_session(), current_user.user, public_id))


@blueprint.put("/review/incidents/<public_id>")
@documented("Replace the incident's fields", body=IncidentFieldsIn, response=IncidentOut,
            errors=(404,))
def review_update_incident(public_id: str, body: IncidentFieldsIn) -> Response:
    incident = incidents.update(get_session(), get_blobstore(), current_user.user, public_id,
                                incidents.parse_input(body.data()))
    return _out(incident)


@blueprint.post("/review/incidents/<public_id>/publish")
@documented("Publish to researchers (or withdraw with published=false); a custody event",
            body=PublishIn, response=IncidentOut, errors=(404,))
def review_publish_incident(public_id: str, body: PublishIn) -> Response:
    incident = incidents.publish(get_session(), current_user.user, public_id, body.published)
    return _out(incident)


@blueprint.post("/review/incidents/<public_id>/merge")
@documented("Merge other incidents into this one", body=MergeIn, response=IncidentOut,
            errors=(404,))
def review_merge_incidents(public_id: str, body: MergeIn) -> Response:
    incident = incidents.merge(get_session(), current_user.user, public_id, body.sources)
    return _out(incident)


@blueprint.post("/review/incidents/<public_id>/split")
@documented("Move submissions into a new incident", body=SplitIn, response=IncidentOut,
            status=201, errors=(404,))
def review_split_incident(public_id: str, body: SplitIn) -> Response:
    incident = incidents.split(get_session(), current_user.user, public_id, body.submissions,
                               body.title)
    return _out(incident, 201)
