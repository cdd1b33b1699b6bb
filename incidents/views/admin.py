"""Admin pages: users (roles, suspension) and invitations."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.core.errors import DomainError
from incidents.core.vocabulary import Role
from incidents.services import accounts
from incidents.services import invitations as invites
from incidents.web.context import settings
from incidents.web.db import get_session

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("/users")
def users() -> str:
    return render_template("admin/users.html", users=accounts.list_users(get_session()),
                           roles=list(Role))


@blueprint.post("/users/<int:user_id>/role")
def user_role(user_id: int) -> Response:
    db = get_session()
    user = accounts.get_user(db, user_id)
    accounts.set_role(db, current_user.user, user,
                      invites.parse_role(request.form.get("role", "")))
    flash(_("The role was changed."))
    return redirect(url_for("admin.users"))


@blueprint.post("/users/<int:user_id>/suspend")
def user_suspend(user_id: int) -> Response:
    db = get_session()
    user = accounts.get_user(db, user_id)
    accounts.set_suspended(db, current_user.user, user, request.form.get("suspended") == "1")
    return redirect(url_for("admin.users"))


@blueprint.route("/invitations", methods=["GET", "POST"])
def invitations() -> str | tuple[str, int]:
    db = get_session()
    context: dict[str, object] = {"roles": list(Role)}
    status = 200
    if request.method == "POST":
        try:
            invitation, token = invites.create(
                db,
                role=invites.parse_role(request.form.get("role", "")),
                expires_in=invites.parse_duration(
                    request.form.get("expires") or f"{settings().invitation_days}d"),
                note=request.form.get("note", ""),
                actor=current_user.user,
            )
        except DomainError as error:
            context["error"] = error
            status = error.status
        else:
            context["new_token"] = token
            context["new_link"] = url_for("auth.register", invitation=token, _external=True)
            status = 201
    context["open"] = invites.list_open(db)
    return render_template("admin/invitations.html", **context), status


@blueprint.post("/invitations/<int:invitation_id>/revoke")
def revoke_invitation(invitation_id: int) -> Response:
    db = get_session()
    invites.revoke(db, current_user.user, invitation_id)
    return redirect(url_for("admin.invitations"))
