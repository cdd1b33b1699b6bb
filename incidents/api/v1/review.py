"""The review queue and reviewers' actions on submissions, over the API (staff only)."""

from __future__ import annotations

from flask import Response, request
from flask_login import current_user

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.base import documented, reply
from incidents.api.v1.schemas.review import (
    QUEUE_PARAMETERS,
    AssessIn,
    AssessmentOut,
    AssignIn,
    NoteIn,
    NoteOut,
    QueueOut,
    RequestIn,
    RequestOut,
    ReviewSubmissionDetailOut,
    ReviewSubmissionOut,
    SubmissionStatusIn,
)
from incidents.core.clock import iso
from incidents.services import review
from incidents.web.context import get_blobstore, get_keys, settings
from incidents.web.db import get_session


@blueprint.get("/review/queue")
@documented("Submissions for review, filtered (status: new, in_review, needs_info, accepted, "
            "rejected)", response=QueueOut, errors=(400,), parameters=QUEUE_PARAMETERS)
def review_queue() -> Response:
    filters = review.parse_queue_filters(request.args)
    rows = review.queue(get_session(), get_keys(), current_user.user, filters,
                        zone=settings().display_timezone)
    return reply(QueueOut.of(rows))


@blueprint.get("/review/submissions/<public_id>")
@documented("A submission as reviewers see it", response=ReviewSubmissionDetailOut,
            errors=(404,))
def review_submission(public_id: str) -> Response:
    """The submission as reviewers see it (no testimony: read it on the page or download
    the testimony item's original, each a custody event)."""
    session, user = get_session(), current_user.user
    submission = review.load_submission(session, user, public_id)
    rows = list(review.assessments_of(session, submission))
    reasons = review.reasons(session, get_blobstore(), user, rows)
    return reply(ReviewSubmissionDetailOut.with_assessments(submission, rows, reasons))


@blueprint.post("/review/submissions/<public_id>/status")
@documented("Change the status (a custody event)", body=SubmissionStatusIn,
            response=ReviewSubmissionOut, errors=(404,))
def review_status(public_id: str, body: SubmissionStatusIn) -> Response:
    submission = review.set_status(get_session(), current_user.user, public_id, body.status)
    return reply(ReviewSubmissionOut.of(submission))


@blueprint.post("/review/submissions/<public_id>/assign")
@documented("Assign to a reviewer (pseudonym; empty: yourself)", body=AssignIn,
            response=ReviewSubmissionOut, errors=(404,))
def review_assign(public_id: str, body: AssignIn) -> Response:
    submission = review.assign(get_session(), current_user.user, public_id, body.reviewer)
    return reply(ReviewSubmissionOut.of(submission))


@blueprint.post("/review/submissions/<public_id>/notes")
@documented("Add a reviewer note (never shown to the witness)", body=NoteIn,
            response=NoteOut, status=201, errors=(404,))
def review_note(public_id: str, body: NoteIn) -> Response:
    note = review.add_note(get_session(), get_blobstore(), current_user.user, public_id,
                           body.body, body.item)
    return reply(NoteOut(id=note.id, created_at=iso(note.created_at)), 201)


@blueprint.post("/review/submissions/<public_id>/requests")
@documented("Ask the witness for more information", body=RequestIn, response=RequestOut,
            status=201, errors=(404,))
def review_request(public_id: str, body: RequestIn) -> Response:
    row = review.request_info(get_session(), get_blobstore(), current_user.user, public_id,
                              body.question)
    return reply(RequestOut(id=row.public_id, created_at=iso(row.created_at)), 201)


@blueprint.post("/review/items/<public_id>/assessments")
@documented("Assess an item: source reliability A-F, information credibility 1-6",
            body=AssessIn, response=AssessmentOut, status=201, errors=(404,))
def review_assess(public_id: str, body: AssessIn) -> Response:
    session, user, store = get_session(), current_user.user, get_blobstore()
    row = review.assess(session, store, user, public_id, body.reliability, body.credibility,
                        body.reason)
    reason = review.reasons(session, store, user, [row]).get(row.reason_blob_id)
    return reply(AssessmentOut.of(row, reason), 201)
