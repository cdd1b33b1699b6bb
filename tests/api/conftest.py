"""API test fixtures: the review world (tests.review.fixtures) for test_review_api."""

from tests.review.fixtures import queued, reviewer, submit, witness

__all__ = ["queued", "reviewer", "submit", "witness"]
