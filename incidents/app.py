"""`create_app`: build the application from settings, wiring the parts in one flat list.

Nothing else happens here; every part has its own `init_app`. Importing a service never
loads this module (or Flask): `incidents/__init__.py` is a docstring only.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask

from incidents import cli
from incidents.api.v1 import blueprint as api_v1
from incidents.core.database import Database
from incidents.core.settings import PROJECT_ROOT, Settings
from incidents.views import (
    account,
    actors,
    admin,
    auth,
    cases,
    custody,
    main,
    research,
    review,
    submit,
)
from incidents.views import incidents as incidents_views
from incidents.web import (
    context,
    db,
    errors,
    evidence,
    i18n,
    jobs,
    login,
    permissions,
    ratelimits,
    security,
)
from incidents.web.extensions import csrf, limiter
from incidents.web.http import body_limits

log = logging.getLogger(__name__)

BLUEPRINTS = (main.blueprint, auth.blueprint, account.blueprint, admin.blueprint,
              custody.blueprint, submit.blueprint, research.blueprint, review.blueprint,
              incidents_views.blueprint, cases.blueprint, actors.blueprint, api_v1)


log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.load()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(settings.instance_path),
    )
    app.config.update(flask_config(settings))
    context.register(app, "settings", settings)

    database = Database(settings.effective_database_url)
    db.init_app(app, database)
    evidence.init_app(app, settings, database)
    jobs.init_app(app, settings, database)
    errors.init_app(app)
    body_limits.init_app(app, settings)  # before the CSRF check reads any form
    csrf.init_app(app)
    limiter.init_app(app)
    ratelimits.init_app(app, settings, database)
    login.init_app(app)
    i18n.init_app(app, settings)
    security.init_app(app)
    permissions.init_app(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    cli.init_app(app)
    return app


def flask_config(settings: Settings) -> dict[str, object]:
    """Translate our settings into the names Flask and its extensions read."""
    return {
        "SECRET_KEY": settings.secret_key or _instance_secret(settings.instance_path),
        "TESTING": settings.testing,
        "SESSION_COOKIE_NAME": "evidence_session",
        "SESSION_COOKIE_SECURE": settings.secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=settings.contributor_session_minutes),
        "REMEMBER_COOKIE_SECURE": settings.secure_cookies,
        # A hard cap on any request body: one largest file plus room for the form's text.
        "MAX_CONTENT_LENGTH": settings.max_upload_bytes + 16 * settings.max_form_field_bytes,
        "MAX_FORM_MEMORY_SIZE": settings.max_form_field_bytes,
        "MAX_FORM_PARTS": settings.max_form_parts,
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in incidents.web.security, bearer tokens exempt
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "RATELIMIT_STORAGE_URI": settings.redis_url or "memory://",
        "RATELIMIT_DEFAULT": settings.default_rate_limit,
        "RATELIMIT_HEADERS_ENABLED": True,
        # The coarse limit's window reset is not a wait: Retry-After stays ours to set, on
        # a 429 only (the credential throttle's or the coarse limit's own).
        "RATELIMIT_HEADER_RETRY_AFTER": "X-RateLimit-Retry-After",
        "JSON_SORT_KEYS": False,
    }


def _instance_secret(instance: Path) -> str:
    """The secret written by `flask init`; a throw-away one (and a warning) before that."""
    path = instance / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    log.warning("no instance secret yet: run `flask --app wsgi init`")
    return secrets.token_hex(32)
