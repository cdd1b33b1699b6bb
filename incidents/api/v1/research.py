"""Researchers over the API: published incidents (paged, filtered) and the timeline exports.

The same filters as the research pages (`incidents.services.research.filters`); a bad value is a 400
naming its parameter. Everything comes from `PublicIncident`s: nothing a researcher may not
see can be in these answers.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.base import documented, reply
from incidents.api.v1.schemas.research import FILTERS, PAGING, IncidentPageOut, timeline
from incidents.services.gazetteer import load_gazetteer
from incidents.services.research import aggregates
from incidents.services.research import queries as research
from incidents.services.research.exports import record
from incidents.web.context import aggregate_cache, settings
from incidents.web.db import get_session
from incidents.web.http.forms import filters_from_request
from incidents.web.http.responses import export_response


@blueprint.get("/incidents")
@documented("Published incidents, filtered and paged (researchers and staff)",
            response=IncidentPageOut, errors=(400,), parameters=(*FILTERS, *PAGING))
def list_incidents() -> Response:
    filters = filters_from_request()
    zone = ZoneInfo(settings().display_timezone)
    gazetteer = load_gazetteer()
    total = aggregate_cache().get(
        ("count", aggregates.aggregate_key(filters)), aggregates.data_version(get_session()),
        lambda: research.count(get_session(), filters, gazetteer=gazetteer))
    rows = research.page(get_session(), filters, gazetteer=gazetteer)
    return reply(IncidentPageOut.of(total, filters.page, filters.per_page,
                                    [record(i, zone) for i in rows]))


@blueprint.get("/timeline.csv", defaults={"kind": "csv"})
@blueprint.get("/timeline.json", defaults={"kind": "json"})
@blueprint.get("/timeline.geojson", defaults={"kind": "geojson"})
@documented("Every published incident matching the filters, streamed", errors=(400,),
            parameters=FILTERS, fragment=timeline)
def timeline_export(kind: str) -> Response:
    return export_response(filters_from_request(), kind)
