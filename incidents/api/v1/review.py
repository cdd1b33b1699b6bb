"""The review queue and reviewers' actions on submissions, over the API (staff only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, jsonify, request
from flask_login import current_user

from incidents.api.v1.base import blueprint, json_body
from incidents.core.clock import iso
from incidents.services import review
from incidents.web.context import get_keys, settings
from incidents.web.db import get_session

if TYPE_CHECKING:  # annotations only: faces reach data through services (import-linter)
    from incidents.models import Assessment, Submission


def submission_json(submission: Submission) -> dict[str, Any]:
    return {
        "id": submission.public_id, "status": submission.status.value,
        "queue": review.queue_name(submission.status),
        "created_at": iso(submission.created_at), "occurred_at": iso(submission.occurred_at),
        "time_precision": submission.time_precision.value, "place": submission.place_id,
        "region": submission.region, "categories": list(submission.categories),
        "tags": list(submission.tags), "counts": submission.counts,
        "consent": submission.consent,
        "items": [{"id": i.public_id, "kind": i.kind.value, "size": i.size,
                   "received_at": iso(i.received_at)} for i in submission.items],
    }


def assessment_json(row: Assessment) -> dict[str, Any]:
    return {"item": row.item.public_id, "grade": row.grade,
            "reliability": row.reliability.value, "credibility": row.credibility,
            "reason": row.reason, "reviewer": row.reviewer.pseudonym,
            "created_at": iso(row.created_at)}


@blueprint.get("/review/queue")
def review_queue() -> Response:
    filters = review.parse_queue_filters(request.args)
    rows = review.queue(get_session(), get_keys(), current_user.user, filters,
                        zone=settings().display_timezone)
    return jsonify({"submissions": [
        {**submission_json(r.submission), "assignee": r.assignee, "has_media": r.has_media,
         "near_duplicate": r.near_duplicate} for r in rows]})


@blueprint.get("/review/submissions/<public_id>")
def review_submission(public_id: str) -> Response:
    """The submission as reviewers see it (no testimony: read it on the page or download
    the testimony item's original, each a custody event)."""
    session = get_session()
    submission = review.load_submission(session, current_user.user, public_id)
    body = submission_json(submission)
    body["assessments"] = [assessment_json(a) for a in review.assessments_of(session, submission)]
    return jsonify(body)


@blueprint.post("/review/submissions/<public_id>/status")
def review_status(public_id: str) -> Response:
    data = json_body({"status"})
    submission = review.set_status(get_session(), current_user.user, public_id,
                                   str(data.get("status", "")))
    return jsonify(submission_json(submission))


@blueprint.post("/review/submissions/<public_id>/assign")
def review_assign(public_id: str) -> Response:
    data = json_body({"reviewer"})
    reviewer = data.get("reviewer")
    submission = review.assign(get_session(), current_user.user, public_id,
                               reviewer if isinstance(reviewer, str) else None)
    return jsonify(submission_json(submission))


@blueprint.post("/review/submissions/<public_id>/notes")
def review_note(public_id: str) -> tuple[Response, int]:
    data = json_body({"body", "item"})
    item = data.get("item")
    note = review.add_note(get_session(), current_user.user, public_id, data.get("body"),
                           item if isinstance(item, str) else None)
    return jsonify({"id": note.id, "created_at": iso(note.created_at)}), 201


@blueprint.post("/review/submissions/<public_id>/requests")
def review_request(public_id: str) -> tuple[Response, int]:
    data = json_body({"question"})
    row = review.request_info(get_session(), current_user.user, public_id,
                              data.get("question"))
    return jsonify({"id": row.public_id, "created_at": iso(row.created_at)}), 201


@blueprint.post("/review/items/<public_id>/assessments")
def review_assess(public_id: str) -> tuple[Response, int]:
    data = json_body({"reliability", "credibility", "reason"})
    row = review.assess(get_session(), current_user.user, public_id, data.get("reliability"),
                        data.get("credibility"), data.get("reason"))
    return jsonify(assessment_json(row)), 201
