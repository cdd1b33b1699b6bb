"""Small helpers shared by the server-rendered SVGs (chart and map): escaping and the frame.

Only presentation attributes are used (`fill`, `stroke`), never `style`, `<style>` or
`<script>`, so the SVG works inline under our strict Content-Security-Policy, and nothing
in it refers to anything outside itself.
"""

from __future__ import annotations

import re
from html import escape

SVG_NS = "http://www.w3.org/2000/svg"
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000")


def text(value: str) -> str:
    """Escape for XML text and attribute values (quotes included)."""
    return escape(value, quote=True)


def number(value: float) -> str:
    """A coordinate with at most 2 decimals and no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def check_id(id_prefix: str) -> str:
    if not _ID.fullmatch(id_prefix):
        raise ValueError("an SVG id prefix is a letter then letters, digits, - or _")
    return id_prefix


def open_svg(id_prefix: str, width: float, height: float, title: str, description: str,
             css_class: str) -> str:
    """The root element with its accessible name (<title>) and description (<desc>)."""
    prefix = check_id(id_prefix)
    return (
        f'<svg xmlns="{SVG_NS}" class="{text(css_class)}" viewBox="0 0 {number(width)} '
        f'{number(height)}" role="img" aria-labelledby="{prefix}-title {prefix}-desc" '
        f'id="{prefix}">'
        f'<title id="{prefix}-title">{text(title)}</title>'
        f'<desc id="{prefix}-desc">{text(description)}</desc>'
    )
