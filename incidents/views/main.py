"""The public home page and the language switch."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session
from werkzeug.wrappers import Response

from incidents.web.context import settings
from incidents.web.http.forms import safe_next

blueprint = Blueprint("main", __name__)


@blueprint.get("/")
def index() -> str:
    return render_template("index.html")


@blueprint.get("/language/<code>")
def language(code: str) -> Response:
    # An unknown code is refused, never stored: the page stays in its language.
    if code not in settings().languages:
        abort(404)
    session["lang"] = code
    return redirect(safe_next(request.args.get("next"), "/"))
