"""Language choice: the user's explicit choice, then their account, then the browser."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from babel.dates import get_timezone_location
from flask import Flask, request, session
from flask_babel import (
    format_date,
    format_decimal,
    format_time,
    get_locale,
    get_timezone,
    gettext,
    ngettext,
    to_user_timezone,
)
from flask_login import current_user
from markupsafe import Markup, escape

from incidents.core.errors import N_, ByteCount, DomainError
from incidents.core.settings import Settings
from incidents.services.gazetteer import load_gazetteer
from incidents.services.taxonomy import load_taxonomy
from incidents.web import context
from incidents.web.extensions import babel
from incidents.web.labels import (
    ACTION_LABELS,
    ACTOR_LABELS,
    CONSENT_LABELS,
    CREDIBILITY_LABELS,
    ENUM_LABELS,
    FIELD_LABELS,
    FORM_FIELD_LABELS,
    ITEM_KIND_LABELS,
)

TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "translations"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
# Binary units, as Jinja's filesizeformat(binary=True) had them; the number is localised.
SIZE_UNITS = (N_("%(size)s KiB"), N_("%(size)s MiB"), N_("%(size)s GiB"), N_("%(size)s TiB"))


# One date format per language (issue 13): "6 января 2022, 14:23 (Алматы, UTC+6)".
DATE_PATTERNS = {"en": "d MMMM y", "ru": "d MMMM y", "kk": "y 'ж'. d MMMM"}


def select_locale() -> str:
    settings = context.settings()
    chosen = session.get("lang")
    if chosen in settings.languages:
        return str(chosen)
    language = getattr(current_user, "language", None) if current_user else None
    if language in settings.languages:
        return str(language)
    best = request.accept_languages.best_match(settings.languages)
    return best or settings.default_language


def filesize(size: int) -> str:
    """A size in bytes for a reader: "1,5 МиБ" in Russian, "2.0 GiB" in English."""
    if size < 1024:
        return ngettext("%(num)d byte", "%(num)d bytes", size)
    value = float(size)
    for unit in SIZE_UNITS:
        value /= 1024
        if value < 1024 or unit is SIZE_UNITS[-1]:
            break
    return gettext(unit, size=format_decimal(value, format="#,##0.0"))


def day(value: date | datetime | None) -> str:
    """A calendar day, the same way everywhere: "6 января 2022"; a moment's local day."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    return format_date(value, DATE_PATTERNS.get(str(get_locale()), "d MMMM y"))


def zone_note(value: datetime | None = None) -> str:
    """The display zone as a reader names it, with its offset then: "Алматы, UTC+6".

    Without a moment, only the city: Almaty's offset changed (UTC+6 in 2022, UTC+5 since
    March 2024), so an offset alone would be wrong for half of what a page shows.
    """
    zone = get_timezone()
    city = get_timezone_location(zone, locale=str(get_locale()), return_city=True)
    if value is None:
        return city
    offset = to_user_timezone(value).utcoffset()
    hours, rest = divmod(int(offset.total_seconds()) if offset else 0, 3600)
    minutes = rest // 60
    shown = f"UTC{hours:+d}" + (f":{minutes:02d}" if minutes else "")
    return f"{city}, {shown}"


def when(value: datetime | None, date_only: bool = False, *, zone: bool = True) -> str:
    """A moment: "6 января 2022, 14:23 (Алматы, UTC+6)"; a date-only report gets no time."""
    if value is None:
        return "—"
    if date_only:
        return day(value)
    local = to_user_timezone(value)
    text = f"{day(value)}, {format_time(local, 'HH:mm')}"
    return f"{text} ({zone_note(value)})" if zone else text


def iso_when(text: str | None) -> str:
    """A stored RFC 3339 / EXIF time as `when` shows it; a time without a zone (a camera's
    clock) is shown as written, marked as such; text that is not a time, unchanged."""
    if not text:
        return "—"
    try:
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return str(text)
    if parsed.tzinfo is None:
        shown = format_date(parsed.date(), DATE_PATTERNS.get(str(get_locale()), "d MMMM y"))
        return gettext("%(moment)s (camera clock, zone unknown)",
                       moment=f"{shown}, {parsed:%H:%M:%S}")
    return when(parsed)


def term_label(term_id: str) -> str:
    """A category or tag id's label in the reader's language (the id if it is unknown)."""
    return load_taxonomy().label(term_id, str(get_locale()))


def code_spans(text: str) -> Markup:
    """Text with `backticks` as <code> elements (everything else escaped)."""
    parts = str(text).split("`")
    out = [escape(part) if index % 2 == 0 else Markup("<code>%s</code>") % part
           for index, part in enumerate(parts)]
    if len(parts) % 2 == 0:  # an odd backtick: show it as it was
        out[-1] = Markup("`") + escape(parts[-1])
    return Markup("").join(out)


def custody_action(action: str) -> str:
    """A custody action's name in the reader's language (the id itself if it has none)."""
    label = ACTION_LABELS.get(action)
    return gettext(label) if label else action


def enum_label(value: StrEnum | None) -> str:
    """A stored enum value's name in the reader's language (the value if it has none)."""
    if value is None:
        return "—"
    label = ENUM_LABELS.get(type(value), {}).get(value.value)
    return gettext(label) if label else value.value


def credibility_label(level: int) -> str:
    label = CREDIBILITY_LABELS.get(level)
    return gettext(label) if label else str(level)


def actor_label(value: str | None) -> str:
    """An actor kind, force, post kind, role, status or decision in the reader's language."""
    if not value:
        return "—"
    label = ACTOR_LABELS.get(str(value))
    return gettext(label) if label else str(value)


def consent_label(key: str) -> str:
    label = CONSENT_LABELS.get(key)
    return gettext(label) if label else key


def field_label(field: str | None) -> str | None:
    """A submission field's name for a witness, or None for a field they never see named."""
    label = FIELD_LABELS.get(field) if field else None
    return gettext(label) if label else None


def error_message(error: DomainError, *, human_fields: bool = True,
                  labels: Mapping[str, str] | None = None) -> str:
    """A domain error's message, translated; sizes in the reader's units and, on pages,
    field names as the form calls them (`labels`: a staff form's own; the API keeps the
    field ids)."""
    params: dict[str, Any] = {
        key: filesize(value) if isinstance(value, ByteCount)
        else enum_label(value) if isinstance(value, StrEnum) else value
        for key, value in error.params.items()}
    if human_fields and params.get("name") == error.field:
        if labels is not None and error.field is not None and error.field in labels:
            params["name"] = gettext(labels[error.field])
        else:
            params["name"] = field_label(error.field) or error.field
    return gettext(error.message, **params)


def form_label(field: str) -> str:
    """A staff form field's label in the reader's language (`labels.FORM_FIELD_LABELS`)."""
    label = FORM_FIELD_LABELS.get(field)
    return gettext(label) if label else field


def item_kind_label(kind: str) -> str:
    label = ITEM_KIND_LABELS.get(kind)
    return gettext(label) if label else kind


def form_errors(error: DomainError | None) -> dict[str, str]:
    """Each field a staff form's error names -> its message, in the order found (an error
    naming no field is listed under "")."""
    if error is None:
        return {}
    found: dict[str, str] = {}
    for one in getattr(error, "errors", None) or [error]:
        found.setdefault(one.field or "", error_message(one, labels=FORM_FIELD_LABELS))
    return found


def local_and_utc(value: datetime | None, date_only: bool = False) -> str:
    """A moment for staff who enter times: "5 января 2022, 14:20 Алматы (08:20 UTC)"; the
    UTC day is written out when it is not the local one; a date alone, as a date."""
    if value is None:
        return "—"
    if date_only:
        return day(value)
    local = to_user_timezone(value)
    utc = value.astimezone(UTC)
    # strftime, not format_time: flask-babel's would move the UTC time to the display zone.
    shown_utc = utc.strftime("%H:%M") if utc.date() == local.date() else (
        f"{format_date(utc.date(), DATE_PATTERNS.get(str(get_locale()), 'd MMMM y'))}, "
        f"{utc.strftime('%H:%M')}")
    city = get_timezone_location(get_timezone(), locale=str(get_locale()), return_city=True)
    return f"{day(value)}, {format_time(local, 'HH:mm')} {city} ({shown_utc} UTC)"


def place_name(place_id: str | None) -> str:
    """A gazetteer place's name in the reader's language (the id if it is not listed)."""
    place = load_gazetteer().get(place_id) if place_id else None
    if place is None:
        return place_id or "—"
    return place.name(str(get_locale()))


def init_app(app: Flask, settings: Settings) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS_DIR),
        default_timezone=settings.display_timezone,
    )

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {"language_names": LANGUAGE_NAMES, "get_locale": get_locale,
                "error_message": error_message, "field_label": field_label,
                "zone_note": zone_note, "size_units": SIZE_UNITS}

    app.add_template_filter(filesize, "filesize")
    app.add_template_filter(when, "when")
    app.add_template_filter(code_spans, "code_spans")
    app.add_template_filter(iso_when, "iso_when")
    app.add_template_filter(term_label, "term_label")
    app.add_template_filter(day, "day")
    app.add_template_filter(custody_action, "custody_action")
    app.add_template_filter(enum_label, "label")
    app.add_template_filter(consent_label, "consent_label")
    app.add_template_filter(credibility_label, "credibility_label")
    app.add_template_filter(actor_label, "actor_label")
    app.add_template_filter(place_name, "place_name")
    app.add_template_filter(form_label, "form_label")
    app.add_template_filter(item_kind_label, "item_kind")
    app.add_template_filter(local_and_utc, "local_and_utc")
