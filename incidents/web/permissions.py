"""Who may reach what: one permission table, enforced before every request, deny by default.

Every endpoint must appear in PERMISSIONS; one that does not is refused for everyone
(and the route x role test fails). Object-level checks (a witness sees only their own
submissions) are made in services through `incidents.services.access.require_access`.
"""

from __future__ import annotations

from flask import Flask, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import Forbidden, Unauthorized
from werkzeug.wrappers import Response

from incidents.models import Role
from incidents.services.access import ADMIN, ALL_ROLES, READERS, STAFF

PUBLIC = "public"  # anyone, signed in or not

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
    "admin.vault_page": ADMIN,
    "admin.vault_unseal": ADMIN,
    "admin.vault_seal": ADMIN,
    "api_v1.openapi": PUBLIC,
    "api_v1.register": PUBLIC,
    "api_v1.token": PUBLIC,
    "api_v1.me": ALL_ROLES,
    "custody.public_key": PUBLIC,
    "custody.checkpoint": PUBLIC,
    "custody.consistency": PUBLIC,
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
    "submit.withdraw_consent": ALL_ROLES,  # the owner only: incidents.services.consent
    "submit.receipt": ALL_ROLES,
    "submit.receipt_json": ALL_ROLES,
    "submit.places": ALL_ROLES,
    "submit.quick_exit": PUBLIC,
    "api_v1.create_submission": ALL_ROLES,
    "api_v1.list_submissions": ALL_ROLES,
    "api_v1.get_submission": ALL_ROLES,
    "api_v1.add_submission_files": ALL_ROLES,
    "api_v1.withdraw_submission_consent": ALL_ROLES,
    "api_v1.submission_receipt": ALL_ROLES,
    # Researchers: published incidents only (incidents.services.research.queries); staff too.
    "research.timeline": READERS,
    "research.incident": READERS,
    "research.map_page": READERS,
    "research.map_json": READERS,
    "research.outline": READERS,
    "research.export": READERS,
    "api_v1.list_incidents": READERS,
    "api_v1.timeline_export": READERS,
    # Review, incidents, cases, originals, bundles: staff only; case membership in services.
    **{endpoint: STAFF for endpoint in (
        "review.queue", "review.submission", "review.status", "review.assign", "review.note",
        "review.request_info", "review.assess", "review.preview", "review.original",
        "review.integrity", "review.export_items",
        "incidents.index", "incidents.new", "incidents.create", "incidents.show",
        "incidents.edit", "incidents.update", "incidents.link", "incidents.publish",
        "incidents.preview",
        "incidents.merge", "incidents.split", "incidents.export",
        "cases.index", "cases.create", "cases.show", "cases.add_incidents", "cases.add_items",
        "cases.export",
        "api_v1.review_queue", "api_v1.review_submission", "api_v1.review_status",
        "api_v1.review_assign", "api_v1.review_note", "api_v1.review_request",
        "api_v1.review_assess", "api_v1.evidence_original", "api_v1.evidence_integrity",
        "api_v1.review_incidents", "api_v1.review_create_incident", "api_v1.review_incident",
        "api_v1.review_update_incident", "api_v1.review_publish_incident",
        "api_v1.review_merge_incidents", "api_v1.review_split_incident",
        "api_v1.list_cases", "api_v1.create_case", "api_v1.get_case",
        "api_v1.case_incidents", "api_v1.case_items",
        "api_v1.create_bundle",
        # Actors, involvement links, command chains, dossiers (issue 15): allegations about
        # named people, so reviewers only; researchers see at most a kind of force.
        "api_v1.list_actors", "api_v1.create_actor", "api_v1.get_actor", "api_v1.edit_actor",
        "api_v1.add_actor_post", "api_v1.list_involvements", "api_v1.create_involvement",
        "api_v1.involvement_status", "api_v1.add_translation", "api_v1.command_chain",
        "api_v1.review_command_chain", "api_v1.create_dossier",
        "actors.index", "actors.new", "actors.create", "actors.show", "actors.add_post",
        "actors.dossier", "actors.incident", "actors.link", "actors.status",
        "actors.translate", "actors.review_chain",
    )},
    **{endpoint: ADMIN for endpoint in (
        "cases.add_member", "cases.remove_member", "api_v1.case_members")},
    # The witness answers a reviewer's request for more information on their own report.
    "submit.answer_request": ALL_ROLES,
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


def can(endpoint: str) -> bool:
    """Whether the current user's role may reach `endpoint`: templates (navigation) ask the
    table instead of repeating it."""
    role = current_user.role if current_user.is_authenticated else None
    return allowed(endpoint, role)


def init_app(app: Flask) -> None:
    app.add_template_global(can, "can")

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
        if current_user.role not in access:
            raise Forbidden()
        return None
