"""Version 1 of the JSON API, under /api/v1/ (DESIGN §8)."""

from incidents.api.v1 import auth, custody, openapi, submissions, uploads
from incidents.api.v1.base import blueprint

__all__ = ["auth", "blueprint", "custody", "openapi", "submissions", "uploads"]
