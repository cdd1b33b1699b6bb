"""Schemathesis against the generated /api/v1/openapi.json, through the app's WSGI callable.

Every operation, with examples generated from its schemas (valid and invalid), is sent by
an anonymous caller, a witness (contributor) and a reviewer, each with a Bearer token.
Every answer must be no 5xx and must match the document. The example count is bounded so
the whole file stays under a minute on two cores (`EXAMPLES` below).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from incidents.models import Role
from tests.helpers import fresh_g, gen_token, gen_user

EXAMPLES = 5
# tus bodies are raw bytes under their own media type (tus 1.0.0, "PATCH").
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def credentials(app: Flask) -> dict[str, dict[str, str]]:
    witness = gen_token(gen_user(Role.CONTRIBUTOR, pseudonym="fuzz-witness"))
    reviewer = gen_token(gen_user(Role.REVIEWER, pseudonym="fuzz-reviewer"))
    return {"anonymous": {}, "witness": {"Authorization": f"Bearer {witness}"},
            "reviewer": {"Authorization": f"Bearer {reviewer}"}}


@pytest.fixture
def api_schema(app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_answer_matches_the_document(
        case: Any, credentials: dict[str, dict[str, str]]) -> None:
    generated = dict(case.headers or {})
    for role, headers in credentials.items():
        # Anonymous keeps whatever Authorization was generated (bad tokens are tested too);
        # the others send their own token instead.
        case.headers = {k: v for k, v in generated.items()
                        if not headers or k.lower() != "authorization"}
        case.headers.update(headers)
        fresh_g()  # as in production, no request may see the previous one's `g` (user)
        response = case.call_and_validate(checks=CHECKS)
        if case.operation.label == "GET /api/v1/me" and case.method == "GET" and headers:
            # The tokens must really sign in, or every operation would only see 401s.
            assert response.status_code == 200, (role, response.status_code)
