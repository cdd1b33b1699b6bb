"""Responses the faces share: streamed evidence, bundles and research exports.

Evidence bytes are never cached, never sniffed and never run (CSP sandbox); the HTML views
and the JSON API answer with the same headers because they build them here.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, request, stream_with_context
from flask_login import current_user

from incidents.core.clock import utcnow
from incidents.services import review
from incidents.services.bundles import export as bundles
from incidents.services.dossiers import export as dossiers
from incidents.services.gazetteer import load_gazetteer
from incidents.services.research import stream
from incidents.services.research.exports import CONTENT_TYPES, export_filename
from incidents.services.research.filters import Filters
from incidents.web.context import get_blobstore, get_keys, settings
from incidents.web.db import get_db, get_session
from incidents.web.security import PLAYABLE_POLICY, SANDBOX_POLICY


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


def export_response(filters: Filters, kind: str, *, bom: bool = False) -> Response:
    """Stream the filtered set as `kind`: rows leave as they are read, memory stays flat.

    ``bom``: a CSV starts with U+FEFF, so that Excel reads UTF-8 (Cyrillic intact).
    """
    chunks: Iterator[str] = stream.export(get_db(), filters, kind, gazetteer=load_gazetteer(),
                                          zone=settings().display_timezone, bom=bom)
    response = Response((c.encode("utf-8") for c in chunks), mimetype=None,
                        content_type=CONTENT_TYPES[kind])
    name = export_filename(kind, utcnow())
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def dossier_response(export: dossiers.DossierExport) -> Response:
    """Stream a dossier ZIP (constant memory for the evidence; the PDF is small)."""
    response = Response(stream_with_context(export.chunks()), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SANDBOX_POLICY
    response.headers["X-Dossier-Id"] = export.dossier_id
    response.headers["X-Dossier-Pdf-Sha256"] = export.pdf_sha256
    response.headers["X-Dossier-Exhibits"] = str(export.exhibits)
    response.headers["X-Dossier-Withheld"] = str(export.withheld)
    return response


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
