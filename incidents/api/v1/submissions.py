"""Submissions over the API (DESIGN §8): multipart create, list, get, add files, receipt."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, url_for
from flask_login import current_user

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.base import documented, reply
from incidents.api.v1.schemas.submissions import (
    CREATE_BODY,
    FILES_BODY,
    ConsentWithdrawIn,
    FilesAddedOut,
    ReceiptOut,
    SubmissionCreatedOut,
    SubmissionListOut,
    SubmissionOut,
)
from incidents.services import consent, receipts, submission_input, submissions
from incidents.web.context import get_blobstore, get_keys, media_queue, settings
from incidents.web.db import get_session
from incidents.web.extensions import csrf
from incidents.web.http.body_limits import streams_large_body
from incidents.web.http.forms import validate_form_metadata
from incidents.web.http.multipart import StreamedForm
from incidents.web.http.streaming import (
    claimed_uploads,
    discard_stored,
    files_from_form,
    read_evidence_form,
)
from storage.blob_writer import StoredBlob
from storage.blobstore import BlobStore


def _store() -> BlobStore:
    return get_blobstore()


def _validate(fields: Mapping[str, list[str]]) -> submission_input.SubmissionInput:
    values = fields.get("metadata") or []
    return validate_form_metadata(
        submission_input.parse_metadata_json(values[0] if values else None))


@blueprint.post("/submissions")
@csrf.exempt  # the body is a stream: incidents.web.http.streaming checks the token
@streams_large_body
@documented("Send a report: a `metadata` JSON part, then one `files` part per file",
            response=SubmissionCreatedOut, status=201, errors=(400, 404, 413, 503),
            fragment=CREATE_BODY)
def create_submission() -> Response:
    checked: dict[str, submission_input.SubmissionInput] = {}

    def early(fields: Mapping[str, list[str]]) -> None:
        # A `metadata` part sent before the files is checked before any file is stored.
        checked["data"] = _validate(fields)

    form: StreamedForm[StoredBlob] | None = None
    try:
        form = read_evidence_form(early)
        submission = submissions.create(
            get_session(), _store(), current_user.user, checked["data"],
            files_from_form(form.files),
            max_blob_bytes=settings().max_upload_bytes,
            after_commit=media_queue())
    except BaseException:
        discard_stored(form)
        raise
    response = reply(SubmissionCreatedOut(id=submission.public_id), 201)
    response.headers["Location"] = url_for("api_v1.get_submission",
                                           public_id=submission.public_id)
    return response


@blueprint.get("/submissions")
@documented("Your own submissions (staff: everyone's), newest first",
            response=SubmissionListOut)
def list_submissions() -> Response:
    session, user = get_session(), current_user.user
    rows = submissions.list_for(session, user)
    names = submissions.read_names(session, _store(), user, rows)
    return reply(SubmissionListOut(
        submissions=[SubmissionOut.of(submissions.summary(s, names)) for s in rows]))


@blueprint.get("/submissions/<public_id>")
@documented("One submission and its evidence items (someone else's: 404)",
            response=SubmissionOut, errors=(404,))
def get_submission(public_id: str) -> Response:
    session, user = get_session(), current_user.user
    submission = submissions.get(session, user, public_id)
    names = submissions.read_names(session, _store(), user, [submission])
    return reply(SubmissionOut.of(submissions.summary(submission, names)))


@blueprint.post("/submissions/<public_id>/consent/withdraw")
@documented("Withdraw consent you gave for your own submission; it applies at once (a "
            "custody event; published incidents that now need it are withdrawn)",
            body=ConsentWithdrawIn, response=SubmissionOut, errors=(404,))
def withdraw_submission_consent(public_id: str, body: ConsentWithdrawIn) -> Response:
    session, user = get_session(), current_user.user
    submission = consent.withdraw(session, user, public_id, body.withdraw)
    names = submissions.read_names(session, _store(), user, [submission])
    return reply(SubmissionOut.of(submissions.summary(submission, names)))


@blueprint.post("/submissions/<public_id>/files")
@csrf.exempt  # the body is a stream: incidents.web.http.streaming checks the token
@streams_large_body
@documented("Add files to your own submission (`files` parts and/or `uploads` ids)",
            response=FilesAddedOut, status=201, errors=(400, 404, 413, 503),
            fragment=FILES_BODY)
def add_submission_files(public_id: str) -> Response:
    user = current_user.user
    submissions.get(get_session(), user, public_id)  # 404 before any byte is stored
    form: StreamedForm[StoredBlob] | None = None
    try:
        form = read_evidence_form()
        items = submissions.add_files(
            get_session(), _store(), user, public_id,
            [*files_from_form(form.files), *claimed_uploads(form)],
            after_commit=media_queue())
    except BaseException:
        discard_stored(form)
        raise
    return reply(FilesAddedOut(items=[i.public_id for i in items]), 201)


@blueprint.get("/submissions/<public_id>/receipt")
@documented("The receipt: hashes, salts, custody events, inclusion proofs, checkpoint",
            response=ReceiptOut, errors=(404, 409))
def submission_receipt(public_id: str) -> Response:
    return reply(ReceiptOut.model_validate(receipts.build(
        get_session(), _store(), get_keys(), settings(),
        current_user.user, public_id)))
