"""POST /api/v1/bundles: an evidence bundle (BagIt ZIP), streamed as the response."""

from __future__ import annotations

from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.base import documented
from incidents.api.v1.schemas.bundles import ZIP, BundleIn
from incidents.services.bundles import export as bundles
from incidents.web.db import get_session
from incidents.web.http.responses import bundle_response


@blueprint.post("/bundles")
@documented("Export an evidence bundle for items, an incident or a case (members only); "
            "streamed. Items without consent to legal use are withheld.", body=BundleIn,
            errors=(404,), fragment=ZIP)
def create_bundle(body: BundleIn) -> Response:
    plan = bundles.plan(get_session(), current_user.user, evidence_ids=body.evidence_ids,
                        incident_id=body.incident_id, case_id=body.case_id)
    return bundle_response(plan)
