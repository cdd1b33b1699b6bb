"""GET /api/v1/openapi.json: the OpenAPI 3.1 document, generated from the schemas.

Every route of the blueprint carries an `Operation` (`schemas.base.documented`); its body
and answer models become `components.schemas` (pydantic's JSON Schema is the 2020-12
dialect OpenAPI 3.1 uses), path parameters come from the route, and only the hand-written
fragments (tus headers, streamed bodies) are typed here by people.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any, Literal

from flask import Flask, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint
from incidents.api.v1.schemas.base import ATTRIBUTE, Error, Operation, documented
from incidents.web.context import application

Mode = Literal["validation", "serialization"]
REF = "#/components/schemas/{model}"
PARAMETER = re.compile(r"<(?:([a-z_]+)(?:\([^)]*\))?:)?([a-z_]+)>")
GATE_ERRORS = (401, 403)  # the permission gate answers these before any view runs


def openapi_path(rule: str) -> str:
    """`/api/v1/custody/proof/<int:seq>` -> `/api/v1/custody/proof/{seq}`."""
    return PARAMETER.sub(r"{\2}", rule)


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 0} if converter == "int"
             else {"type": "string"}}
            for converter, name in PARAMETER.findall(rule.rule)]


def _methods(rule: Rule) -> list[str]:
    methods = set(rule.methods or ())
    if "GET" in methods:
        methods.discard("HEAD")  # Flask answers HEAD for every GET by itself
    if getattr(rule, "provide_automatic_options", True):
        methods.discard("OPTIONS")
    return sorted(m.lower() for m in methods)


def _routes(app: Flask) -> Iterator[tuple[Rule, Operation]]:
    prefix = f"{blueprint.name}."
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.startswith(prefix):
            operation = getattr(app.view_functions[rule.endpoint], ATTRIBUTE, None)
            if isinstance(operation, Operation):
                yield rule, operation


def _json(schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _merge(generated: dict[str, Any], fragment: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in fragment.items():
        if key == "parameters":
            generated["parameters"] = [*generated.get("parameters", []), *value]
        elif key == "responses":
            generated["responses"] = {**generated["responses"], **value}
        else:
            generated[key] = value
    return generated


def document(app: Flask) -> dict[str, Any]:
    """The whole document, built from the app's routes (so from what is really served)."""
    routes = list(_routes(app))
    wanted: list[tuple[type[BaseModel], Mode]] = [(Error, "serialization")]
    for _rule, op in routes:
        if op.body is not None:
            wanted.append((op.body, "validation"))
        if op.response is not None:
            wanted.append((op.response, "serialization"))
    wanted = list(dict.fromkeys(wanted))
    refs, definitions = models_json_schema(wanted, ref_template=REF)
    error = refs[(Error, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for rule, op in routes:
        path = paths.setdefault(openapi_path(rule.rule), {})
        for method in _methods(rule):
            suffix = "".join(f"_{v}" for v in (rule.defaults or {}).values())
            generated: dict[str, Any] = {
                "operationId": rule.endpoint.removeprefix(f"{blueprint.name}.") + suffix,
                "summary": op.summary,
                "parameters": [*_path_parameters(rule), *op.parameters],
            }
            if op.description:
                generated["description"] = op.description
            if op.public:
                generated["security"] = []
            success: dict[str, Any] = {"description": _phrase(op.status)}
            if op.response is not None:
                success = _json(refs[(op.response, "serialization")], _phrase(op.status))
            codes = set(op.errors) | (set() if op.public else set(GATE_ERRORS))
            if op.body is not None:
                generated["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": refs[(op.body, "validation")]}}}
                codes.add(400)
            generated["responses"] = {
                str(op.status): success,
                **{str(code): _json(error, _phrase(code)) for code in sorted(codes)},
                "default": _json(error, "Any other error: the error envelope"),
            }
            path[method] = _merge(generated, op.fragment_for(rule.defaults or {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Evidence platform API", "version": "1"},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "evidence_session"},
            },
            "schemas": definitions.get("$defs", {}),
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


@blueprint.get("/openapi.json")
@documented("This document", public=True, fragment={"responses": {"200": {
    "description": "The OpenAPI 3.1 document",
    "content": {"application/json": {"schema": {"type": "object"}}}}}})
def openapi() -> Response:
    return jsonify(document(application()))
