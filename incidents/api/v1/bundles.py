"""POST /api/v1/bundles: an evidence bundle (BagIt ZIP), streamed as the response."""

from __future__ import annotations

from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint, json_body
from incidents.core.errors import N_, InvalidInput
from incidents.services.bundles import export as bundles
from incidents.web.db import get_session
from incidents.web.http.responses import bundle_response


@blueprint.post("/bundles")
def create_bundle() -> Response:
    """`{"evidence_ids": [...]}`, `{"incident_id": "..."}` or `{"case_id": "..."}`."""
    data = json_body({"evidence_ids", "incident_id", "case_id"})
    for name in ("incident_id", "case_id"):
        if name in data and not isinstance(data[name], str):
            raise InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name)
    ids = data.get("evidence_ids")
    if ids is not None and not isinstance(ids, list):
        raise InvalidInput(N_("The field %(name)s is not valid."), field="evidence_ids",
                           name="evidence_ids")
    plan = bundles.plan(get_session(), current_user.user, evidence_ids=ids,
                        incident_id=data.get("incident_id"), case_id=data.get("case_id"))
    return bundle_response(plan)
