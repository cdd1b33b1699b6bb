"""Response headers and CSRF policy applied to every request."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

from incidents.extensions import csrf

# No inline script or style, nothing from another origin, never framed.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
# For anything that serves evidence bytes: not even our own script may run.
SANDBOX_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"


def init_app(app: Flask) -> None:
    @app.before_request
    def _csrf() -> None:
        # A bearer token is not sent by browsers on their own, so it cannot be forged
        # cross-site; everything else that changes state needs the CSRF token.
        if request.path.startswith("/api/") and request.headers.get(
            "Authorization", ""
        ).startswith("Bearer "):
            return
        csrf.protect()

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        headers["Permissions-Policy"] = PERMISSIONS_POLICY
        if request.endpoint != "static":
            headers.setdefault("Cache-Control", "no-store")
        return response
