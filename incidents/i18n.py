"""Language choice: the user's explicit choice, then their account, then the browser."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request, session
from flask_babel import get_locale
from flask_login import current_user

from incidents.extensions import babel
from incidents.settings import Settings

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}


def select_locale() -> str:
    settings: Settings = current_app.extensions["settings"]
    chosen = session.get("lang")
    if chosen in settings.languages:
        return str(chosen)
    language = getattr(current_user, "language", None) if current_user else None
    if language in settings.languages:
        return str(language)
    best = request.accept_languages.best_match(settings.languages)
    return best or settings.default_language


def init_app(app: Flask, settings: Settings) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS_DIR),
        default_timezone=settings.display_timezone,
    )

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {"language_names": LANGUAGE_NAMES, "get_locale": get_locale}
