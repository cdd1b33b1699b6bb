"""/api/v1/openapi.json is valid OpenAPI 3.1 and documents every route of the API."""

from __future__ import annotations

import json
import re

import pytest
from openapi_spec_validator import validate

from incidents.api.v1 import blueprint
from tests.fixtures.openapi import check

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def openapi_path(rule: str) -> str:
    """`/api/v1/submissions/<int:id>` -> `/api/v1/submissions/{id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_the_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_route_is_documented_with_its_methods(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    missing = []
    prefix = f"{blueprint.name}."
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(prefix):
            continue
        documented = paths.get(openapi_path(rule.rule), {})
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            if method.lower() not in documented:
                missing.append(f"{method} {rule.rule}")
    assert missing == []


def test_the_document_is_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.mimetype == "application/json"


def test_an_undocumented_field_in_an_answer_fails_the_suite(app, client):
    """The client fixture's check: a field the schemas do not declare is an error."""
    answer = app.response_class(
        json.dumps({"pseudonym": "a", "role": "contributor", "totp_enabled": False,
                    "password_hash": "x"}), mimetype="application/json")
    with pytest.raises(AssertionError, match="password_hash"):
        check("/api/v1/me", "GET", answer)


def test_a_wrongly_typed_field_in_an_answer_fails_the_suite(app, client):
    answer = app.response_class(json.dumps({"token": 42}), mimetype="application/json",
                                status=201)
    with pytest.raises(AssertionError, match="token"):
        check("/api/v1/auth/token", "POST", answer)


def test_an_error_that_is_not_the_envelope_fails_the_suite(app, client):
    answer = app.response_class(json.dumps({"detail": "nope"}), mimetype="application/json",
                                status=404)
    with pytest.raises(AssertionError, match="detail"):
        check("/api/v1/cases/abc", "GET", answer)


def test_answers_with_the_documented_shape_pass(app, client):
    answer = app.response_class(
        json.dumps({"pseudonym": "a", "role": "contributor", "totp_enabled": False}),
        mimetype="application/json")
    check("/api/v1/me", "GET", answer)


def test_every_json_body_and_answer_is_a_named_schema(client):
    """No operation answers JSON with a bare `{"type": "object"}` (except this document)."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    bare = []
    for path, operations in paths.items():
        for method, operation in operations.items():
            bodies = [r.get("content", {}).get("application/json", {}).get("schema")
                      for r in operation["responses"].values()]
            bodies.append(operation.get("requestBody", {}).get("content", {}).get(
                "application/json", {}).get("schema"))
            if path != "/api/v1/openapi.json" and {"type": "object"} in bodies:
                bare.append(f"{method} {path}")
    assert bare == []
