"""The tus 1.0.0 resumable upload protocol at /api/v1/uploads/ (https://tus.io/protocols/resumable-upload).

Core (HEAD, PATCH), creation (POST, also with a first body), termination (DELETE),
expiration (Upload-Expires) and checksum (sha256). Only an upload's owner may touch it;
to anyone else it does not exist (404).
"""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

from flask import request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas import uploads as tus
from incidents.api.v1.schemas.base import documented
from incidents.core.errors import (
    N_,
    DomainError,
    InvalidInput,
    TusVersionRequired,
    UnsupportedMediaType,
)
from incidents.services import uploads
from incidents.web.context import get_blobstore, settings
from incidents.web.db import get_session
from incidents.web.http.body_limits import streams_large_body
from incidents.web.http.request_body import RequestBody
from storage.blobstore import BlobStore

OFFSET_TYPE = "application/offset+octet-stream"
ENDPOINTS = frozenset({"api_v1.uploads_options", "api_v1.create_upload", "api_v1.upload_head",
                       "api_v1.upload_patch", "api_v1.upload_delete"})


def _store() -> BlobStore:
    return get_blobstore()


def _policy() -> uploads.UploadPolicy:
    s = settings()
    return uploads.UploadPolicy(max_bytes=s.max_upload_bytes,
                                lifetime=timedelta(hours=s.upload_expiry_hours),
                                lease=timedelta(seconds=s.upload_lease_seconds))


def _require_tus() -> None:
    if request.headers.get("Tus-Resumable") != uploads.TUS_VERSION:
        raise TusVersionRequired(N_("This server speaks tus %(version)s."),
                                 version=uploads.TUS_VERSION)


def _int_header(name: str, *, required: bool = True) -> int | None:
    value = request.headers.get(name)
    if value is None and not required:
        return None
    # ASCII only: str.isdigit() also accepts "²" and other digits int() refuses (500).
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise InvalidInput(N_("The header %(header)s must be a non-negative integer."),
                           field=name, header=name)
    return int(value)


def _progress_headers(progress: uploads.Progress) -> dict[str, str]:
    headers = {"Upload-Offset": str(progress.offset)}
    if not progress.finished:
        headers["Upload-Expires"] = format_datetime(progress.expires_at, usegmt=True)
    return headers


def _content_length() -> int | None:
    return _int_header("Content-Length", required=False)


def _checksum() -> bytes | None:
    header = request.headers.get("Upload-Checksum")
    return uploads.parse_checksum(header) if header is not None else None


def _has_body() -> bool:
    length = request.content_length
    return bool(length) or (length is None and "chunked" in request.headers.get(
        "Transfer-Encoding", "").lower())


@blueprint.after_request
def _tus_resumable(response: Response) -> Response:
    if request.endpoint in ENDPOINTS:
        response.headers["Tus-Resumable"] = uploads.TUS_VERSION
        if response.status_code == 412:
            response.headers["Tus-Version"] = uploads.TUS_VERSION
    return response


@blueprint.route("/uploads/", methods=["OPTIONS"], strict_slashes=False,
                 provide_automatic_options=False)
@documented("tus discovery: version, extensions, maximum size, checksum algorithms",
            public=True, fragment=tus.OPTIONS)
def uploads_options() -> Response:
    """What this server supports (tus discovery); public, it reveals nothing else."""
    return Response(status=204, headers={
        "Tus-Version": uploads.TUS_VERSION,
        "Tus-Extension": ",".join(uploads.TUS_EXTENSIONS),
        "Tus-Max-Size": str(settings().max_upload_bytes),
        "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUM_ALGORITHMS),
    })


@blueprint.post("/uploads/", strict_slashes=False)
@streams_large_body
@documented("tus creation: start a resumable upload (optionally with its first bytes)",
            status=201, errors=(400, 412, 413, 415), fragment=tus.CREATE)
def create_upload() -> Response:
    _require_tus()
    if request.headers.get("Upload-Defer-Length") is not None:
        raise InvalidInput(N_("The upload length must be given in advance."),
                           field="Upload-Length")
    length = _int_header("Upload-Length")
    assert length is not None
    session = get_session()
    progress = uploads.create_upload(session, _store(), current_user.user, _policy(),
                                     length=length,
                                     metadata=request.headers.get("Upload-Metadata", ""))
    location = url_for("api_v1.upload_head", upload_id=progress.upload_id)
    if _has_body():  # creation-with-upload: the first bytes come with the POST
        if request.mimetype != OFFSET_TYPE:
            raise UnsupportedMediaType(N_("Send the bytes as %(type)s."), type=OFFSET_TYPE)
        try:
            with RequestBody(request.environ, _content_length()) as body:
                progress = uploads.append(
                    session, _store(), current_user.user, _policy(), progress.upload_id,
                    offset=0, body=body, content_length=_content_length(),
                    checksum=_checksum())
        except DomainError as error:
            if error.status == 413:
                raise
            # The upload exists; the client may resume it at the offset HEAD reports.
            progress = uploads.get_progress(session, _store(), current_user.user,
                                            progress.upload_id)
    headers = {"Location": location, **_progress_headers(progress)}
    return Response(status=201, headers=headers)


@blueprint.route("/uploads/<upload_id>", methods=["HEAD"])
@documented("tus core: how many bytes of the upload are stored", errors=(404, 412),
            fragment=tus.HEAD)
def upload_head(upload_id: str) -> Response:
    _require_tus()
    progress = uploads.get_progress(get_session(), _store(), current_user.user, upload_id)
    headers = {"Upload-Length": str(progress.length), "Cache-Control": "no-store",
               **_progress_headers(progress)}
    return Response(status=200, headers=headers)


@blueprint.route("/uploads/<upload_id>", methods=["PATCH"])
@streams_large_body
@documented("tus core: append bytes at Upload-Offset", status=204,
            errors=(400, 404, 409, 412, 413, 415), fragment=tus.PATCH)
def upload_patch(upload_id: str) -> Response:
    _require_tus()
    if request.mimetype != OFFSET_TYPE:
        raise UnsupportedMediaType(N_("Send the bytes as %(type)s."), type=OFFSET_TYPE)
    offset = _int_header("Upload-Offset")
    assert offset is not None
    with RequestBody(request.environ, _content_length()) as body:
        progress = uploads.append(
            get_session(), _store(), current_user.user, _policy(), upload_id,
            offset=offset, body=body, content_length=_content_length(), checksum=_checksum())
    return Response(status=204, headers=_progress_headers(progress))


@blueprint.route("/uploads/<upload_id>", methods=["DELETE"])
@documented("tus termination: forget the upload and remove its bytes", status=204,
            errors=(404, 412), fragment=tus.DELETE)
def upload_delete(upload_id: str) -> Response:
    _require_tus()
    uploads.terminate(get_session(), _store(), current_user.user, upload_id)
    return Response(status=204)
