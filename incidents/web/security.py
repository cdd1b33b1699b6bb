"""Response headers and CSRF policy applied to every request."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response

from incidents.web.extensions import csrf
from incidents.web.login import bearer_token

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
HSTS = "max-age=63072000; includeSubDomains"
# The playable copy of a video or audio (re-encoded, no tags): opened on its own, the
# browser's built-in player may load exactly this media from our origin, and nothing else.
PLAYABLE_POLICY = "default-src 'none'; media-src 'self'; sandbox; frame-ancestors 'none'"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def check_csrf() -> None:
    """Forms and cookie-authenticated API calls need the CSRF token; bearer calls do not.

    A bearer token is never sent by a browser on its own, so it cannot be forged cross-site
    (and `incidents.web.login` ignores the session cookie on such requests). An API call with no
    signed-in session carries no authority a forger could borrow: it needs no token, so that
    an app can register and sign in, but a browser sending it from another origin is refused.
    """
    if request.method in SAFE_METHODS:
        return
    if request.path.startswith("/api/"):
        if bearer_token() is not None:
            return
        if not current_user.is_authenticated:
            origin = request.headers.get("Origin")
            if origin and urlsplit(origin).netloc != request.host:
                raise CSRFError("The CSRF check failed: the request came from another site.")
            return
    # Views marked `@csrf.exempt` read a multipart body as a stream (incidents.web.http.multipart):
    # reading `request.form` here would spool their files to plaintext temporary files.
    # Each of them checks the token itself (incidents.web.http.streaming.check_streamed_csrf).
    csrf.protect(apply_exemptions=True)


def init_app(app: Flask) -> None:
    app.before_request(check_csrf)
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))

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
        if secure:
            # Cookies that need TLS are only safe if the browser never tries without it
            # (RFC 6797): two years, subdomains too. Plain-HTTP localhost sends none.
            headers["Strict-Transport-Security"] = HSTS
        return response
