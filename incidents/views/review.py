"""Reviewers' pages: the queue, the submission page, previews, originals, integrity checks."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.services import review
from incidents.services.bundles import export as bundles
from incidents.services.gazetteer import load_gazetteer
from incidents.services.taxonomy import load_taxonomy
from incidents.web.context import get_blobstore, get_keys, settings
from incidents.web.db import get_session
from incidents.web.http.responses import (
    bundle_response,
    evidence_response,
    ranged_media_response,
)

blueprint = Blueprint("review", __name__, url_prefix="/review")


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
                           credibility=review.CREDIBILITY_GRADES)


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
    review.add_note(get_session(), get_blobstore(), current_user.user, public_id,
                    request.form.get("body"), request.form.get("item") or None)
    return redirect(url_for("review.submission", public_id=public_id) + "#notes")


@blueprint.post("/submissions/<public_id>/requests")
def request_info(public_id: str) -> Response:
    review.request_info(get_session(), get_blobstore(), current_user.user, public_id,
                        request.form.get("question"))
    flash(_("The witness will see your request on their submission page."))
    return redirect(url_for("review.submission", public_id=public_id))


@blueprint.post("/items/<public_id>/assessments")
def assess(public_id: str) -> Response:
    session = get_session()
    row = review.assess(session, get_blobstore(), current_user.user, public_id,
                        request.form.get("reliability"), request.form.get("credibility"),
                        request.form.get("reason"))
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


@blueprint.post("/bundle")
def export_items() -> Response:
    """Export a chosen set of evidence items (form field `items`: ids, space-separated)."""
    ids = [i for i in request.form.get("items", "").replace(",", " ").split() if i]
    return bundle_response(bundles.plan(get_session(), current_user.user, evidence_ids=ids))
