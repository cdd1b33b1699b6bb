"""Researchers' pages: the timeline (filters, chart, list), one incident, the map, exports.

Each view parses the filters, calls one function of `incidents.services.research.queries` and
renders. Everything shown comes from `PublicIncident`s or from counts over them, so nothing a
researcher may not see can reach these pages. Times are shown in the display zone (Asia/Almaty)
with UTC beside them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify, render_template, request, send_file, url_for
from flask_babel import format_date, get_locale, gettext
from werkzeug.wrappers import Response

from incidents.core.vocabulary import LocationPrecision
from incidents.services.actors.public import forces as public_forces
from incidents.services.gazetteer import collation_key, load_gazetteer
from incidents.services.research import aggregates
from incidents.services.research import queries as research
from incidents.services.research.chart import chart_table, render_chart
from incidents.services.research.exports import CONTENT_TYPES
from incidents.services.research.filters import PER_PAGE_CHOICES, SORTS, Filters
from incidents.services.research.interactive import chart_data, map_points
from incidents.services.research.map import OUTLINE_FILE, map_table, render_map
from incidents.services.research.public import PublicIncident, Verification
from incidents.services.research.suppress import suppress
from incidents.services.taxonomy import load_taxonomy
from incidents.web.context import aggregate_cache, settings
from incidents.web.db import get_session
from incidents.web.http.forms import filters_from_request
from incidents.web.http.responses import export_response
from incidents.web.i18n import zone_note
from incidents.web.labels import ENUM_LABELS

blueprint = Blueprint("research", __name__, url_prefix="/research")


def _language() -> str:
    return str(get_locale())


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().display_timezone)


def _labels(language: str) -> dict[str, str]:
    taxonomy = load_taxonomy()
    found = {c.id: c.label(language) for c in taxonomy.categories}
    found.update({t.id: t.label(language) for c in taxonomy.categories for t in c.tags})
    return found


@blueprint.app_template_filter("term_labels")
def _map_labels(ids: tuple[str, ...], labels: dict[str, str]) -> str:
    return ", ".join(labels.get(i, i) for i in ids)


def verification_names() -> dict[str, str]:
    return {v.value: gettext(ENUM_LABELS[Verification][v]) for v in Verification}


def precision_names() -> dict[str, str]:
    return {p.value: gettext(ENUM_LABELS[LocationPrecision][p]) for p in LocationPrecision}


def sort_names() -> dict[str, str]:
    return {"start": gettext("Earliest first"), "-start": gettext("Latest first"),
            "published": gettext("Published earliest first"),
            "-published": gettext("Published latest first"),
            "-killed": gettext("Most killed first"), "-injured": gettext("Most injured first"),
            "-detained": gettext("Most detained first")}


def _page_url(endpoint: str, filters: Filters, **extra: Any) -> str:
    """A link with the same filters (repeated parameters kept in order)."""
    items = filters.query_items(page=extra.pop("page", None))
    base = url_for(endpoint, **extra)
    if not items:
        return base
    return base + "?" + "&".join(f"{k}={_quote(v)}" for k, v in items)


def _with_param(url: str, key: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{key}={_quote(value)}"


def _quote(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.~" else
                   "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in value)


def _common(filters: Filters) -> dict[str, Any]:
    language = _language()
    taxonomy = load_taxonomy()
    gazetteer = load_gazetteer()
    return {
        "filters": filters, "language": language, "labels": _labels(language),
        "taxonomy": taxonomy,
        "regions": sorted((p for p in gazetteer.listed() if p.kind == "region"),
                          key=lambda p: collation_key(p.name(language), language)),
        "towns": sorted((p for p in gazetteer.listed() if p.kind != "region"),
                        key=lambda p: collation_key(p.name(language), language)),
        "verification_names": verification_names(), "precision_names": precision_names(),
        "sort_names": sort_names(), "sorts": list(SORTS), "per_page_choices": PER_PAGE_CHOICES,
        "zone_name": zone_note(),  # the city, as a reader names it: "Алматы", not Asia/Almaty
        "excel_link": _with_param(_page_url("research.export", filters.with_page(1),
                                            kind="csv"), "excel", "1"),
        "export_links": {kind: _page_url("research.export", filters.with_page(1), kind=kind)
                         for kind in CONTENT_TYPES},
        "threshold": settings().research_min_cell_count,
        "filters_open": bool(filters.query_items(page=1)),
    }


def _day_label(day: date) -> str:
    return format_date(day, "d MMM")


@blueprint.get("/")
def timeline() -> str:
    filters = filters_from_request()
    result = aggregates.timeline(get_session(), filters, gazetteer=load_gazetteer(),
                               cache=aggregate_cache())
    context = _common(filters)
    threshold = context["threshold"]
    chart_svg = table = interactive = None
    day_links: dict[date, str] = {}
    if result.daily is not None:
        chart_svg = render_chart(
            result.daily, title=gettext("Published incidents per day and category"),
            description=gettext("Stacked bars, one per day in %(zone)s time; the table "
                                "below gives the same numbers.", zone=context["zone_name"]),
            labels=context["labels"], day_label=_day_label, threshold=threshold,
            fewer_text=gettext("fewer than %(threshold)d", threshold=threshold))
        table = chart_table(result.daily, threshold)
        day_links = {day: _page_url("research.timeline", replace(
            filters, date_from=day, date_to=day, page=1)) for day in result.daily.days}
        interactive = chart_data(result.daily, labels=context["labels"], day_label=_day_label,
                                 threshold=threshold)
    pages = max(1, -(-result.total // filters.per_page))
    return render_template(
        "research/timeline.html", result=result, chart_svg=chart_svg, chart_table=table,
        chart_data=interactive, day_links=day_links,
        map_json_url=_page_url("research.map_json", filters.with_page(1)),
        pages=pages,
        prev_url=_page_url("research.timeline", filters, page=filters.page - 1)
        if filters.page > 1 else None,
        next_url=_page_url("research.timeline", filters, page=filters.page + 1)
        if filters.page < pages else None,
        map_url=_page_url("research.map_page", filters.with_page(1)),
        **context)


@blueprint.get("/incidents/<public_id>")
def incident(public_id: str) -> str:
    found: PublicIncident = research.get_incident(get_session(), public_id,
                                                  gazetteer=load_gazetteer())
    return render_template("research/incident.html", incident=found,
                           forces=public_forces(get_session(), found.id),
                           **_common(Filters()))


@blueprint.get("/map")
def map_page() -> str:
    filters = filters_from_request()
    data = aggregates.map_data(get_session(), filters, gazetteer=load_gazetteer(),
                             cache=aggregate_cache())
    context = _common(filters)
    language, threshold = context["language"], context["threshold"]
    rows = map_table(data, language, threshold)
    # Each place's name links to its incidents on the timeline (a town, or a whole region).
    place_links = [_page_url("research.timeline", replace(
        filters, page=1, towns=() if row.precision is LocationPrecision.REGION else (row.place_id,),
        regions=(row.place_id,) if row.precision is LocationPrecision.REGION else ()))
        for row in rows]
    svg = render_map(
        data, title=gettext("Published incidents by town and region"),
        description=gettext("Circles grow with the number of incidents; dashed circles are "
                            "incidents known only by region. The table below gives the same "
                            "numbers."), language=language, threshold=threshold,
        credit=gettext("Borders: Natural Earth"))
    return render_template(
        "research/map.html", map_svg=svg, rows=rows, place_links=place_links,
        unplaced=suppress(data.unplaced, threshold),
        timeline_url=_page_url("research.timeline", filters),
        map_json_url=_page_url("research.map_json", filters.with_page(1)),
        **context)


@blueprint.get("/kazakhstan.geojson")
def outline() -> Response:
    """The country's outline (Natural Earth, public domain) the interactive map draws."""
    return send_file(OUTLINE_FILE, mimetype="application/geo+json", max_age=86400)


@blueprint.get("/map.json")
def map_json() -> Response:
    """The map's places and counts for the interactive map (small counts hidden as on the
    page: `null` and "<3")."""
    data = aggregates.map_data(get_session(), filters_from_request(),
                               gazetteer=load_gazetteer(), cache=aggregate_cache())
    return jsonify(map_points(data, language=_language(),
                              threshold=settings().research_min_cell_count))


@blueprint.get("/timeline.<any(csv, json, geojson):kind>")
def export(kind: str) -> Response:
    # `excel=1`: a byte-order mark first, which Excel needs to read UTF-8 (issue 13).
    return export_response(filters_from_request(), kind,
                           bom=kind == "csv" and request.args.get("excel") == "1")
