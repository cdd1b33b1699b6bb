"""Glue between a request and `incidents.web.http.multipart`: limits, CSRF on streams."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from flask import request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from incidents.core.database import release_connection
from incidents.core.settings import Settings
from incidents.services import submission_input, submissions
from incidents.web import context
from incidents.web.db import get_session
from incidents.web.http.multipart import FileSink, FormLimits, ReceivedFile, StreamedForm, read_form
from incidents.web.http.request_body import RequestBody
from incidents.web.login import bearer_token
from storage.blob_writer import StoredBlob

# Room for the text fields and part headers of a form besides its files.
FORM_OVERHEAD_BYTES = 4 * 1024 * 1024


def form_limits(settings: Settings) -> FormLimits:
    """One form carries at most one maximal file's worth of bytes (more: add files later)."""
    return FormLimits(
        max_parts=settings.max_form_parts,
        max_field_bytes=settings.max_form_field_bytes,
        max_file_bytes=settings.max_upload_bytes,
        max_body_bytes=settings.max_upload_bytes + 4 * settings.max_form_field_bytes
        + FORM_OVERHEAD_BYTES,
    )


def check_streamed_csrf(fields: Mapping[str, list[str]]) -> None:
    """The CSRF check `incidents.web.security` leaves to streaming views (they are exempt there).

    Bearer calls need none. Anyone else sends the token as a field before the first file
    (the form puts it first) or in the X-CSRFToken header.
    """
    if bearer_token() is not None:
        return
    if request.path.startswith("/api/") and not current_user.is_authenticated:
        return  # refused by the permission table anyway
    values = fields.get("csrf_token") or []
    token = values[0] if values else request.headers.get("X-CSRFToken")
    try:
        validate_csrf(token)
    except ValidationError as e:
        raise CSRFError(e.args[0]) from e


def read_evidence_form(
    then: Callable[[Mapping[str, list[str]]], None] | None = None,
) -> StreamedForm[StoredBlob]:
    """Stream this request's multipart body; each file goes encrypted into the blob store."""
    settings = context.settings()
    store = context.get_blobstore()

    def ready(fields: Mapping[str, list[str]]) -> None:
        check_streamed_csrf(fields)
        if then is not None:
            then(fields)

    def open_sink(max_size: int) -> FileSink[StoredBlob]:
        return store.writer(max_size=max_size)

    def discard(stored: StoredBlob) -> None:
        store.delete(stored.blob_id)

    # Not `request.stream`: under gunicorn its `wsgi.input` copies every byte through
    # BytesIO buffers; RequestBody reads the socket straight into the parser's buffer
    # (docs/performance.md, "Uploads"). A body left half-read (an error, a 413) closes
    # the connection after the answer instead of being drained.
    # Nothing is written yet (signing in the caller only read): end that read so the
    # database connection goes back to the pool while we wait on the client. A slow or
    # dripping upload must not hold one: the pool is smaller than the thread count.
    release_connection(get_session())
    with RequestBody(request.environ, request.content_length) as body:
        return read_form(
            body,
            content_type=request.headers.get("Content-Type"),
            content_length=request.content_length,
            limits=form_limits(settings),
            open_sink=open_sink,
            discard=discard,
            on_fields_ready=ready,
        )


def discard_stored(form: StreamedForm[StoredBlob] | None) -> None:
    """Delete streamed files that no committed row refers to (missing ones are fine)."""
    store = context.get_blobstore()
    for received in form.files if form is not None else ():
        store.delete(received.stored.blob_id)


def files_from_form(received: Sequence[ReceivedFile[StoredBlob]]) -> list[submissions.NewFile]:
    """The streamed files as the submission service takes them (claims stay claims)."""
    return [submissions.NewFile(f.stored, None, f.filename, f.content_type) for f in received]


def claimed_uploads(form: StreamedForm[StoredBlob]) -> list[submissions.NewFile]:
    """Finished tus uploads named in the form's `uploads` fields (one id each, or a
    comma-separated list), as files to claim; a malformed id is a 400 naming the field."""
    ids = [v for value in form.fields.get("uploads") or [] for v in value.split(",") if v.strip()]
    if not ids:
        return []
    return [submissions.NewFile(None, upload_id, "", "")
            for upload_id in submission_input.parse_upload_ids(ids)]
