"""Version 1 of the JSON API, under /api/v1/ (DESIGN §8)."""

from incidents.api.v1 import (
           actors,
           auth,
           bundles,
           cases,
           custody,
           evidence,
           openapi,
           research,
           review,
           submissions,
           uploads,
)
from incidents.api.v1 import incidents as review_incidents
from incidents.api.v1.base import blueprint

__all__ = ["actors", "auth", "blueprint", "bundles", "cases", "custody", "evidence", "openapi",
           "research", "review", "review_incidents", "submissions", "uploads"]
