"""Reviewers' incidents over the API, under /api/v1/review/incidents (staff only).

(/api/v1/incidents is the researchers' list of published incidents.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, jsonify, url_for
from flask_login import current_user

from incidents.api.v1.base import blueprint, json_body, string_list
from incidents.core.clock import iso
from incidents.services import incidents
from incidents.web.db import get_session

FIELDS = {"title", "description", "summary", "start_utc", "end_utc", "time_precision",
          "place", "location_precision", "categories", "tags", "injured", "detained",
          "killed", "verification"}

if TYPE_CHECKING:  # annotations only: faces reach data through services (import-linter)
    from incidents.models import Incident


def incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.public_id, "title": incident.title,
        "description": incident.description, "summary": incident.summary,
        "start_utc": iso(incident.start_utc), "end_utc": iso(incident.end_utc),
        "time_precision": incident.time_precision.value, "place": incident.place_id,
        "region": incident.region_id,
        "location_precision": incident.location_precision.value,
        "location_precision_cap": incidents.precision_cap(incident.submissions).value,
        "categories": incident.categories, "tags": incident.tags, **incident.counts,
        "verification": incident.verification.value, "has_photo": incident.has_photo,
        "has_video": incident.has_video, "published": incident.published,
        "published_at": iso(incident.published_at),
        "merged_into": incident.merged_into_id is not None,
        "submissions": [s.public_id for s in incident.submissions],
        "items": [i.public_id for i in incident.items],
    }


@blueprint.get("/review/incidents")
def review_incidents() -> Response:
    rows = incidents.list_all(get_session(), current_user.user)
    return jsonify({"incidents": [incident_json(i) for i in rows]})


@blueprint.post("/review/incidents")
def review_create_incident() -> tuple[Response, int]:
    data = json_body(FIELDS | {"submissions", "items"})
    incident = incidents.create(get_session(), current_user.user, incidents.parse_input(data),
                                submission_ids=string_list(data, "submissions"),
                                item_ids=string_list(data, "items"))
    response = jsonify(incident_json(incident))
    response.headers["Location"] = url_for("api_v1.review_incident",
                                           public_id=incident.public_id)
    return response, 201


@blueprint.get("/review/incidents/<public_id>")
def review_incident(public_id: str) -> Response:
    return jsonify(incident_json(incidents.load(get_session(), current_user.user, public_id)))


@blueprint.put("/review/incidents/<public_id>")
def review_update_incident(public_id: str) -> Response:
    data = json_body(FIELDS)
    incident = incidents.update(get_session(), current_user.user, public_id,
                                incidents.parse_input(data))
    return jsonify(incident_json(incident))


@blueprint.post("/review/incidents/<public_id>/publish")
def review_publish_incident(public_id: str) -> Response:
    data = json_body({"published"})
    incident = incidents.publish(get_session(), current_user.user, public_id,
                                 data.get("published", True) is not False)
    return jsonify(incident_json(incident))


@blueprint.post("/review/incidents/<public_id>/merge")
def review_merge_incidents(public_id: str) -> Response:
    data = json_body({"sources"})
    incident = incidents.merge(get_session(), current_user.user, public_id,
                               string_list(data, "sources"))
    return jsonify(incident_json(incident))


@blueprint.post("/review/incidents/<public_id>/split")
def review_split_incident(public_id: str) -> tuple[Response, int]:
    data = json_body({"submissions", "title"})
    title = data.get("title")
    incident = incidents.split(get_session(), current_user.user, public_id,
                               string_list(data, "submissions"),
                               title if isinstance(title, str) else "")
    return jsonify(incident_json(incident)), 201
