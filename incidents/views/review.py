"""Reviewers' pages: the queue, the submission page, previews, originals, integrity checks."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.db import get_session
from incidents.evidence import get_blobstore, get_keys
from incidents.security import PLAYABLE_POLICY, SANDBOX_POLICY
from incidents.services import bundles, review
from incidents.services.gazetteer import load_gazetteer
from incidents.services.taxonomy import load_taxonomy
from incidents.views.common import settings

blueprint = Blueprint("review", __name__, url_prefix="/review")


def evidence_response(original: review.Original | None, body: Iterator[bytes],
                      mimetype: str) -> Response:
    """Evidence bytes: never cached, never sniffed, never run (CSP sandbox)."""
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SANDBOX_POLICY
    if original is not None:
        response.headers["Content-Disposition"] = f'attachment; filename="{original.filename}"'
        response.headers["Content-Length"] = str(original.size)
    return response


@blueprint.get("/")
def queue() -> str:
    filters = review.parse_queue_filters(request.args)
    rows = review.queue(get_session(), get_keys(), current_user.user, filters,
                        zone=settings().display_timezone)
    language = str(get_locale())
    return render_template("review/queue.html", rows=rows, filters=filters,
                           states=list(review.QUEUE_STATES), taxonomy=load_taxonomy(),
                           places=load_gazetteer().choices(language), language=language)


@blueprint.get("/submissions/<public_id>")
def submission(public_id: str) -> str:
    session = get_session()
    gazetteer = load_gazetteer()
    found = review.load_submission(session, current_user.user, public_id)
    place = gazetteer.get(found.place_id)
    view = review.submission_view(session, get_blobstore(), get_keys(), current_user.user,
                                  public_id,
                                  place_point=(place.lat, place.lon) if place else None)
    language = str(get_locale())
    return render_template("review/submission.html", view=view, s=view.submission,
                           place=place, language=language, taxonomy=load_taxonomy(),
                           reviewers=review.reviewers(session), states=list(review.SETTABLE),
                           current_state=review.queue_name(view.submission.status),
                           reliability=review.RELIABILITY_GRADES,
                           credibility=review.CREDIBILITY_GRADES,
                           submission_id=review.submission_public_id)


@blueprint.post("/submissions/<public_id>/status")
def status(public_id: str) -> Response:
    review.set_status(get_session(), current_user.user, public_id, request.form.get("status", ""))
    return redirect(url_for("review.submission", public_id=public_id))


@blueprint.post("/submissions/<public_id>/assign")
def assign(public_id: str) -> Response:
    review.assign(get_session(), current_user.user, public_id, request.form.get("reviewer"))
    return redirect(url_for("review.submission", public_id=public_id))


@blueprint.post("/submissions/<public_id>/notes")
def note(public_id: str) -> Response:
    review.add_note(get_session(), current_user.user, public_id, request.form.get("body"),
                    request.form.get("item") or None)
    return redirect(url_for("review.submission", public_id=public_id) + "#notes")


@blueprint.post("/submissions/<public_id>/requests")
def request_info(public_id: str) -> Response:
    review.request_info(get_session(), current_user.user, public_id,
                        request.form.get("question"))
    flash(_("The witness will see your request on their submission page."))
    return redirect(url_for("review.submission", public_id=public_id))


@blueprint.post("/items/<public_id>/assessments")
def assess(public_id: str) -> Response:
    session = get_session()
    row = review.assess(session, current_user.user, public_id, request.form.get("reliability"),
                        request.form.get("credibility"), request.form.get("reason"))
    return redirect(url_for("review.submission", public_id=row.item.submission.public_id)
                    + f"#item-{public_id}")


@blueprint.get("/items/<public_id>/preview/<kind>")
def preview(public_id: str, kind: str) -> Response:
    """A derivative; the playable copy answers Range requests so the player can seek."""
    found = review.open_preview(get_session(), get_blobstore(), current_user.user,
                                public_id, kind)
    if not found.mime.startswith(("video/", "audio/")):
        return evidence_response(None, review.chunks(found.reader), found.mime)
    return ranged_media_response(found)


def ranged_media_response(found: review.Preview) -> Response:
    """RFC 9110 §14: one byte range as 206, an unsatisfiable one as 416, none as 200.

    Several ranges in one request (multipart/byteranges) are answered with the whole body,
    which §14.2 allows; media players never ask for them.
    """
    size = found.size
    wanted = request.range
    span = wanted.range_for_length(size) if wanted is not None else None
    if wanted is not None and span is None and len(wanted.ranges) == 1:
        found.reader.close()
        response = Response(status=416)
        response.headers["Content-Range"] = f"bytes */{size}"
        response.headers["Cache-Control"] = "no-store"
        return response
    start, stop = span if span is not None else (0, size)
    body = review.byte_range(found.reader, start, stop)
    response = Response(stream_with_context(body), mimetype=found.mime,
                        status=206 if span is not None else 200)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Content-Length"] = str(stop - start)
    if span is not None:
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = PLAYABLE_POLICY
    return response


@blueprint.get("/items/<public_id>/original")
def original(public_id: str) -> Response:
    found = review.open_original(get_session(), get_blobstore(), current_user.user, public_id)
    return evidence_response(found, review.chunks(found.reader), "application/octet-stream")


@blueprint.post("/items/<public_id>/integrity")
def integrity(public_id: str) -> Response:
    session = get_session()
    result = review.check_integrity(session, get_blobstore(), current_user.user, public_id)
    item = review.load_item(session, current_user.user, public_id)
    if result.ok:
        flash(_("Integrity check passed: the stored file matches its recorded hash."))
    else:
        flash(_("Integrity check FAILED: %(problem)s", problem=result.problem or ""))
    return redirect(url_for("review.submission", public_id=item.submission.public_id)
                    + f"#item-{public_id}")


def bundle_response(plan: bundles.BundlePlan) -> Response:
    """Stream a bundle as the response (constant memory; "exported" recorded at the end)."""
    export = bundles.prepare(get_session(), get_blobstore(), get_keys(), settings(),
                             current_user.user, plan)
    response = Response(stream_with_context(export.chunks()), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.bundle_id}.zip"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SANDBOX_POLICY
    response.headers["X-Bundle-Items"] = str(plan.count)
    response.headers["X-Bundle-Withheld"] = str(len(plan.withheld))
    response.headers["X-Bundle-Payload-Bytes"] = str(plan.total_bytes)
    return response


@blueprint.post("/bundle")
def export_items() -> Response:
    """Export a chosen set of evidence items (form field `items`: ids, space-separated)."""
    ids = [i for i in request.form.get("items", "").replace(",", " ").split() if i]
    return bundle_response(bundles.plan(get_session(), current_user.user, evidence_ids=ids))
