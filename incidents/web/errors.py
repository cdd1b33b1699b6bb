"""One error handler for the whole app: rolls back, then answers in HTML or JSON."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext, lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from incidents.core.errors import DomainError, VaultIsSealed
from incidents.web.db import get_db
from incidents.web.i18n import error_message
from storage.errors import VaultSealed

log = logging.getLogger(__name__)

# Messages for plain HTTP errors, in the user's language.
HTTP_MESSAGES = {
    400: lazy_gettext("The request could not be understood."),
    401: lazy_gettext("Please sign in."),
    403: lazy_gettext("You do not have access to this page."),
    404: lazy_gettext("There is nothing here."),
    405: lazy_gettext("This action is not allowed here."),
    409: lazy_gettext("This conflicts with what is already stored."),
    413: lazy_gettext("What you sent is larger than we accept."),
    429: lazy_gettext("Too many attempts. Please wait a while and try again."),
    500: lazy_gettext("Something went wrong on our side. Nothing you sent was lost."),
    503: lazy_gettext("The service is temporarily unavailable. Nothing was stored."),
}


def wants_json() -> bool:
    # /custody/proof/ answers JSON only (transparency-log tooling), errors included.
    return request.path.startswith(("/api/", "/custody/proof/")) or (
        request.accept_mimetypes.best_match(["application/json", "text/html"])
        == "application/json"
    )


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    """Render one error as JSON under /api/ (or when asked) and as a page otherwise."""
    _rollback()
    if wants_json():
        body: dict[str, str] = {"error": code, "message": message}
        if field:
            body["field"] = field
        response = jsonify(body)
    else:
        response = Response(
            render_template("error.html", status=status, message=message, field=field),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def _rollback() -> None:
    try:
        get_db().session.rollback()
    except Exception:  # a broken connection must not hide the original error
        log.exception("rollback after error failed")


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        if error.message:
            message = error_message(error, human_fields=not wants_json())
        else:
            message = str(HTTP_MESSAGES.get(error.status, ""))
        response = error_response(error.status, error.code, message, error.field)
        retry_after = getattr(error, "retry_after", None)
        if error.status == 429 and retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(VaultSealed)
    def _vault_sealed(error: VaultSealed) -> Response:
        # Any evidence read that reached the key agent while sealed (or with the agent down).
        return _domain_error(VaultIsSealed())

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        message = str(HTTP_MESSAGES.get(status, error.description or ""))
        if isinstance(error, CSRFError):
            message = gettext("The form expired or was sent from another site. Please try again.")
            code = "csrf_failed"
        response = error_response(status, code, message)
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and isinstance(valid_methods, list):
            response.headers["Allow"] = ", ".join(valid_methods)
        retry_after = getattr(error, "retry_after", None)
        if status == 429 and retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        # The class and where it happened, never the message: it could carry testimony,
        # a file name or a token. Stack frames name only our source lines.
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error("unhandled %s on %s\n%s", type(error).__name__, request.endpoint, frames)
        return error_response(500, "internal_error", str(HTTP_MESSAGES[500]))
