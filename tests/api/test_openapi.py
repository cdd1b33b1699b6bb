"""/api/v1/openapi.json is valid OpenAPI 3.1 and documents every route of the API."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from incidents.api.v1 import blueprint

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
