"""QR codes rendered on our own server as SVG (segno), never by a third party."""

from __future__ import annotations

import io

import segno


def qr_svg(data: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return buffer.getvalue()
