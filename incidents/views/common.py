"""Helpers every view shares: settings, the account policy, safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

from incidents.services.accounts import AccountPolicy
from incidents.settings import Settings


def settings() -> Settings:
    value: Settings = current_app.extensions["settings"]
    return value


def account_policy() -> AccountPolicy:
    return AccountPolicy.from_settings(settings())


def form_ids(name: str) -> list[str]:
    """The ids in every `name` field of the form, split at commas and spaces."""
    return [i for v in request.form.getlist(name) for i in v.replace(",", " ").split() if i]


def safe_next(target: str | None, default: str) -> str:
    """Only a same-origin relative path: never `//host`, a scheme, or a backslash trick."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target
