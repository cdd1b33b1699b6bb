"""Fixtures for the review tests (defined in tests.review.fixtures, shared with tests/api)."""

from tests.review.fixtures import queued, reviewer, submit, witness

__all__ = ["queued", "reviewer", "submit", "witness"]
