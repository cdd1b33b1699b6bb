"""Rate-limit keys that never involve an IP address (DESIGN §7: none stored by default)."""

from __future__ import annotations

import hashlib
import unicodedata

from flask import request, session
from flask_login import current_user

# One bucket per pseudonym shared by the sign-in page and the API token endpoint, so that
# switching between them gives an attacker no extra attempts.
LOGIN_SCOPE = "login"


def limiter_key() -> str:
    """Per account when signed in; otherwise one shared bucket per endpoint."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "anonymous"


def login_key() -> str:
    """Per pseudonym tried, so stuffing one account is throttled whether or not it exists."""
    try:
        data = request.get_json(silent=True) if request.is_json else None
    except RecursionError:  # nested past the parser: the view answers 400, not the limiter
        data = None
    raw = (data or {}).get("pseudonym") if isinstance(data, dict) else None
    raw = raw if isinstance(raw, str) else request.form.get("pseudonym", "")
    if not raw and session.get("pending_user"):
        return f"login-user:{session['pending_user']}"
    key = unicodedata.normalize("NFKC", raw).strip().casefold()
    return "login:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]
