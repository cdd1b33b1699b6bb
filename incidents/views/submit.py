"""The witness's pages: new report (works without JavaScript), my submissions, receipt."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.core.errors import DomainError
from incidents.services import consent, receipts, review, submission_input, submissions
from incidents.services.gazetteer import PREFER_NOT_TO_SAY, load_gazetteer
from incidents.services.taxonomy import load_taxonomy
from incidents.web.context import get_blobstore, get_keys, media_queue, settings
from incidents.web.db import get_session
from incidents.web.extensions import csrf
from incidents.web.http.body_limits import streams_large_body
from incidents.web.http.forms import metadata_from_form, validate_form_metadata
from incidents.web.http.multipart import StreamedForm
from incidents.web.http.streaming import (
    claimed_uploads,
    discard_stored,
    files_from_form,
    read_evidence_form,
)
from incidents.web.login import sign_out
from storage.blob_writer import StoredBlob
from storage.blobstore import BlobStore

blueprint = Blueprint("submit", __name__)


def _store() -> BlobStore:
    return get_blobstore()


def _after_commit() -> submissions.AfterCommit | None:
    return media_queue()


def _form_context(**extra: Any) -> dict[str, Any]:
    language = str(get_locale())
    return {"taxonomy": load_taxonomy(), "places": load_gazetteer().choices(language),
            "language": language, "prefer_not": PREFER_NOT_TO_SAY,
            "max_upload_bytes": settings().max_upload_bytes, **extra}


@blueprint.get("/submit")
def new() -> str:
    return render_template("submit/new.html", **_form_context(values={}))


@blueprint.post("/submit")
@csrf.exempt  # the body is a stream: incidents.web.http.streaming checks the token
@streams_large_body
def create() -> Response | tuple[str, int]:
    checked: dict[str, submission_input.SubmissionInput] = {}
    typed: dict[str, list[str]] = {}

    def early(fields: Mapping[str, list[str]]) -> None:
        # Fields come before files in the form: refuse bad metadata before any file streams.
        typed.update({k: v for k, v in fields.items() if k != "csrf_token"})
        checked["data"] = validate_form_metadata(metadata_from_form(fields))

    form: StreamedForm[StoredBlob] | None = None
    try:
        form = read_evidence_form(early)
        submission = submissions.create(
            get_session(), _store(), current_user.user, checked["data"],
            files_from_form(form.files),
            max_blob_bytes=settings().max_upload_bytes, after_commit=_after_commit())
    except BaseException as error:
        discard_stored(form)
        if not isinstance(error, DomainError) or error.status != 400:
            raise
        return render_template("submit/new.html", error=error,
                               **_form_context(values=typed)), 400
    return redirect(url_for("submit.show", public_id=submission.public_id, new=1))


@blueprint.get("/submissions")
def mine() -> str:
    rows = submissions.list_own(get_session(), current_user.user)
    return render_template("submit/mine.html", submissions=rows)


@blueprint.get("/submissions/<public_id>")
def show(public_id: str, consent_error: DomainError | None = None,
         files_error: DomainError | None = None) -> str:
    session, user = get_session(), current_user.user
    submission = submissions.get(session, user, public_id)
    language = str(get_locale())
    # File names, reviewers' requests and the witness's answers (never notes), sealed.
    view = review.witness_view(session, _store(), user, submission)
    return render_template(
        "submit/show.html", submission=submission, is_new=request.args.get("new") == "1",
        names=view.names, info_requests=view.requests, sealed=view.sealed,
        consent_error=consent_error, files_error=files_error,
        max_upload_bytes=settings().max_upload_bytes,
        place=load_gazetteer().get(submission.place_id), language=language,
        category_labels=[load_taxonomy().label(c, language) for c in submission.categories],
        tag_labels=[load_taxonomy().label(t, language) for t in submission.tags])


@blueprint.post("/submissions/<public_id>/consent")
def withdraw_consent(public_id: str) -> Response | tuple[str, int]:
    """The witness withdraws consent they gave (the checked uses); takes effect at once."""
    try:
        consent.withdraw(get_session(), current_user.user, public_id,
                         request.form.getlist("withdraw"))
    except DomainError as error:
        if error.status != 400:
            raise
        return show(public_id, consent_error=error), 400
    flash(_("Your consent was withdrawn. It applies from now on."))
    return redirect(url_for("submit.show", public_id=public_id, _anchor="consent"))


@blueprint.post("/submissions/<public_id>/requests/<request_id>/answer")
def answer_request(public_id: str, request_id: str) -> Response:
    """The witness answers a request for more information with text (files: add files)."""
    review.answer_info(get_session(), _store(), current_user.user, request_id,
                       request.form.get("answer"), max_bytes=settings().max_form_field_bytes)
    return redirect(url_for("submit.show", public_id=public_id))


@blueprint.post("/submissions/<public_id>/files")
@csrf.exempt  # the body is a stream: incidents.web.http.streaming checks the token
@streams_large_body
def add_files(public_id: str) -> Response | tuple[str, int]:
    """Files sent with the form, or (JavaScript) finished tus uploads named by id."""
    user = current_user.user
    # Refuse someone else's submission before any byte is stored.
    submissions.get(get_session(), user, public_id)
    form: StreamedForm[StoredBlob] | None = None
    try:
        form = read_evidence_form()
        submissions.add_files(get_session(), _store(), user, public_id,
                              [*files_from_form(form.files), *claimed_uploads(form)],
                              after_commit=_after_commit())
    except BaseException as error:
        discard_stored(form)
        if not isinstance(error, DomainError) or error.status != 400:
            raise
        return show(public_id, files_error=error), 400
    flash(_("Your files were added. The receipt lists them."))
    return redirect(url_for("submit.show", public_id=public_id))


def _receipt(public_id: str) -> dict[str, Any]:
    return receipts.build(get_session(), _store(), get_keys(), settings(),
                          current_user.user, public_id)


@blueprint.get("/submissions/<public_id>/receipt")
def receipt(public_id: str) -> str:
    return render_template("submit/receipt.html", receipt=_receipt(public_id),
                           steps=receipts.HOW_TO_CHECK_STEPS,
                           hashes_pending=receipts.HASHES_PENDING)


@blueprint.get("/submissions/<public_id>/receipt.json")
def receipt_json(public_id: str) -> Response:
    body = _receipt(public_id)
    response = Response(json.dumps(body, ensure_ascii=False, indent=2),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="receipt-{body["submission"]}.json"')
    return response


@blueprint.get("/exit")
def quick_exit() -> Response:
    """Leave at once: the session ends on the server, the browser forgets this site, and a
    neutral outside page takes this one's place.

    A GET, so that a plain link works without JavaScript (signing someone out is all a
    forged link could do). The page is neutral itself and moves on to `quick_exit_url` by
    `<meta http-equiv="refresh">`, which replaces its history entry; with JavaScript the
    link and the Esc key reach it by `location.replace`, replacing the page left too.
    """
    sign_out()
    response = Response(render_template("submit/exit.html", target=settings().quick_exit_url),
                        mimetype="text/html")
    # Cookies (this session's, the language), storage and the cache of this origin.
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/submit/places.json")
def places() -> Response:
    """The gazetteer for the place search box (our own script; the form works without it)."""
    language = str(get_locale())
    return jsonify([{"id": p.id, "name": p.name(language), "kind": p.kind}
                    for p in load_gazetteer().choices(language)])
