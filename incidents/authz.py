"""Who may reach what: one permission table, enforced before every request, deny by default.

Every endpoint must appear in PERMISSIONS; one that does not is refused for everyone
(and the route x role test fails). Object-level checks (a witness sees only their own
submissions) are made in services through `require_access`.
"""

from __future__ import annotations

from typing import Any, Protocol

from flask import Flask, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import Forbidden, Unauthorized
from werkzeug.wrappers import Response

from incidents.errors import NotFound
from incidents.models import Role

PUBLIC = "public"  # anyone, signed in or not
ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.REVIEWER, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})

# endpoint -> PUBLIC, or the roles that may use it.
PERMISSIONS: dict[str, str | frozenset[Role]] = {
    "static": PUBLIC,
    "main.index": PUBLIC,
    "main.language": PUBLIC,
    "auth.login": PUBLIC,
    "auth.register": PUBLIC,
    "auth.logout": ALL_ROLES,
    "auth.totp_setup": ALL_ROLES,
    "auth.totp_qr": ALL_ROLES,
    "account.index": ALL_ROLES,
    "account.passphrase": ALL_ROLES,
    "account.create_token": ALL_ROLES,
    "account.revoke_token": ALL_ROLES,
    "account.disable_totp": ALL_ROLES,
    "admin.users": ADMIN,
    "admin.user_role": ADMIN,
    "admin.user_suspend": ADMIN,
    "admin.invitations": ADMIN,
    "admin.revoke_invitation": ADMIN,
    "api_v1.openapi": PUBLIC,
    "api_v1.register": PUBLIC,
    "api_v1.token": PUBLIC,
    "api_v1.me": ALL_ROLES,
    "custody.public_key": PUBLIC,
    "custody.checkpoint": PUBLIC,
    "api_v1.custody_checkpoint": ALL_ROLES,
    "api_v1.custody_proof": ALL_ROLES,
    "api_v1.uploads_options": PUBLIC,
    "api_v1.create_upload": ALL_ROLES,
    "api_v1.upload_head": ALL_ROLES,
    "api_v1.upload_patch": ALL_ROLES,
    "api_v1.upload_delete": ALL_ROLES,
    # Witness submissions; object-level checks (own only, staff all) in the services.
    "submit.new": ALL_ROLES,
    "submit.create": ALL_ROLES,
    "submit.mine": ALL_ROLES,
    "submit.show": ALL_ROLES,
    "submit.add_files": ALL_ROLES,
    "submit.receipt": ALL_ROLES,
    "submit.receipt_json": ALL_ROLES,
    "submit.places": ALL_ROLES,
    "submit.quick_exit": PUBLIC,
    "api_v1.create_submission": ALL_ROLES,
    "api_v1.list_submissions": ALL_ROLES,
    "api_v1.get_submission": ALL_ROLES,
    "api_v1.add_submission_files": ALL_ROLES,
    "api_v1.submission_receipt": ALL_ROLES,
}

# What staff without a second factor, or anyone holding a one-time passphrase, may reach.
ENROLMENT_ENDPOINTS = frozenset(
    {"static", "main.index", "main.language", "auth.logout", "auth.totp_setup", "auth.totp_qr",
     "account.passphrase"}
)


def allowed(endpoint: str, role: Role | None) -> bool:
    access = PERMISSIONS.get(endpoint)
    if access is None:
        return False
    if access == PUBLIC:
        return True
    return role is not None and role in access


class Owned(Protocol):
    owner_id: int


def require_access(obj: Owned | None, user: Any, action: str = "view") -> None:
    """Staff roles see all; anyone else only their own objects. Others' look nonexistent."""
    if obj is None:
        raise NotFound()
    if user.role in STAFF and action in {"view", "review"}:
        return
    if obj.owner_id != user.id:
        raise NotFound()


def init_app(app: Flask) -> None:
    @app.before_request
    def _enforce() -> Response | None:
        endpoint = request.endpoint
        if endpoint is None:
            return None  # routing failed: let the 404/405 handler answer
        access = PERMISSIONS.get(endpoint)
        if access is None:
            raise Forbidden()
        if access == PUBLIC:
            return None
        if not current_user.is_authenticated:
            if request.path.startswith("/api/"):
                raise Unauthorized()
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        pending = current_user.totp_pending or current_user.must_change_password
        if pending and not g.get("auth_via_token") and endpoint not in ENROLMENT_ENDPOINTS:
            if request.path.startswith("/api/"):
                raise Forbidden()
            target = "account.passphrase" if current_user.must_change_password else (
                "auth.totp_setup")
            return redirect(url_for(target))
        if current_user.role not in access:  # type: ignore[operator]
            raise Forbidden()
        return None
