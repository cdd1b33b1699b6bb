"""The OpenAPI 3.1 document of /api/v1/: every route of the blueprint must be described."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from incidents.api.v1.base import blueprint

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json(ERROR, "Error") for code in codes}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object", "properties": properties, "required": required}}},
    }


STRING = {"type": "string"}

PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI document"}}},
    },
    "/api/v1/auth/register": {
        "post": {
            "summary": "Create an account with an invitation",
            "security": [],
            "requestBody": _body(
                {"invitation": STRING, "pseudonym": STRING, "passphrase": STRING,
                 "language": {"type": "string", "enum": ["en", "ru", "kk"]}},
                ["invitation", "pseudonym", "passphrase"],
            ),
            "responses": {
                "201": _json({"type": "object", "properties": {
                    "pseudonym": STRING, "role": STRING}}, "Created"),
                **_errors(400, 409, 413),
            },
        },
    },
    "/api/v1/auth/token": {
        "post": {
            "summary": "Exchange credentials (and a TOTP code for staff) for a personal token",
            "security": [],
            "requestBody": _body(
                {"pseudonym": STRING, "passphrase": STRING, "totp": STRING, "name": STRING},
                ["pseudonym", "passphrase"],
            ),
            "responses": {
                "201": _json({"type": "object", "properties": {"token": STRING}}, "Token"),
                **_errors(400, 401, 429),
            },
        },
    },
    "/api/v1/me": {
        "get": {
            "summary": "The signed-in user's pseudonym and role",
            "responses": {
                "200": _json({"type": "object", "properties": {
                    "pseudonym": STRING, "role": STRING, "totp_enabled": {"type": "boolean"}}},
                    "Who you are"),
                **_errors(401, 403),
            },
        },
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Evidence platform API", "version": "1"},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "evidence_session"},
            },
            "schemas": {"Error": {"type": "object", "required": ["error", "message"],
                                  "properties": {"error": STRING, "message": STRING,
                                                 "field": STRING}}},
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": PATHS,
    }


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
