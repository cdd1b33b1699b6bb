"""The v1 blueprint; request and answer shapes live in `incidents.api.v1.schemas`."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")
