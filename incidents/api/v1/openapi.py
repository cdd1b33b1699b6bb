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


# tus 1.0.0 (https://tus.io/protocols/resumable-upload): headers carry the protocol.
_TUS = {"name": "Tus-Resumable", "in": "header", "required": True,
        "schema": {"type": "string", "const": "1.0.0"}}
_UPLOAD_ID = {"name": "upload_id", "in": "path", "required": True, "schema": STRING}
_OFFSET = {"Upload-Offset": {"schema": {"type": "integer"}}}
_EXPIRES = {"Upload-Expires": {"schema": STRING, "description": "RFC 9110 date"}}

PATHS["/api/v1/uploads/"] = {
    "options": {
        "summary": "tus discovery: version, extensions, maximum size, checksum algorithms",
        "security": [],
        "responses": {"204": {"description": "Capabilities", "headers": {
            name: {"schema": STRING} for name in
            ("Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm")}}},
    },
    "post": {
        "summary": "tus creation: start a resumable upload (optionally with its first bytes)",
        "parameters": [
            _TUS,
            {"name": "Upload-Length", "in": "header", "required": True,
             "schema": {"type": "integer", "minimum": 0}},
            {"name": "Upload-Metadata", "in": "header", "schema": STRING,
             "description": "filename and filetype, each base64; display-only"},
            {"name": "Upload-Checksum", "in": "header", "schema": STRING,
             "description": "sha256 <base64 digest> of the body"},
        ],
        "requestBody": {"required": False, "content": {
            "application/offset+octet-stream": {"schema": {"type": "string",
                                                           "format": "binary"}}}},
        "responses": {
            "201": {"description": "Created; Location is the upload URL",
                    "headers": {"Location": {"schema": STRING}, **_OFFSET, **_EXPIRES}},
            **_errors(400, 401, 412, 413, 415),
        },
    },
}
PATHS["/api/v1/uploads/{upload_id}"] = {
    "head": {
        "summary": "tus core: how many bytes of the upload are stored",
        "parameters": [_TUS, _UPLOAD_ID],
        "responses": {
            "200": {"description": "Progress", "headers": {
                **_OFFSET, "Upload-Length": {"schema": {"type": "integer"}}, **_EXPIRES}},
            "404": {"description": "No such upload (or not yours, or expired)"},
        },
    },
    "patch": {
        "summary": "tus core: append bytes at Upload-Offset",
        "parameters": [
            _TUS, _UPLOAD_ID,
            {"name": "Upload-Offset", "in": "header", "required": True,
             "schema": {"type": "integer", "minimum": 0}},
            {"name": "Upload-Checksum", "in": "header", "schema": STRING,
             "description": "sha256 <base64 digest> of this body"},
        ],
        "requestBody": {"required": True, "content": {
            "application/offset+octet-stream": {"schema": {"type": "string",
                                                           "format": "binary"}}}},
        "responses": {
            "204": {"description": "Stored; Upload-Offset is the new offset",
                    "headers": {**_OFFSET, **_EXPIRES}},
            "460": {"description": "Checksum mismatch; nothing of this body was kept"},
            **_errors(400, 401, 404, 409, 412, 413, 415),
        },
    },
    "delete": {
        "summary": "tus termination: forget the upload and remove its bytes",
        "parameters": [_TUS, _UPLOAD_ID],
        "responses": {"204": {"description": "Terminated"}, **_errors(401, 404, 412)},
    },
}

# Custody ledger (docs/formats.md "Custody events" and "Custody checkpoints").
_HEX_LIST = {"type": "array", "items": STRING}
PATHS["/api/v1/custody/checkpoint"] = {
    "get": {
        "summary": "The latest signed checkpoint (C2SP tlog-checkpoint note) and verifier key",
        "responses": {
            "200": _json({"type": "object", "properties": {
                "size": {"type": "integer"}, "root": STRING, "root_base64": STRING,
                "signed_at": STRING, "note": STRING, "verifier_key": STRING}}, "Checkpoint"),
            **_errors(401, 403, 404),
        },
    },
}
PATHS["/api/v1/custody/proof/{seq}"] = {
    "get": {
        "summary": "RFC 6962 inclusion proof of custody event `seq` in the latest checkpoint",
        "parameters": [{"name": "seq", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 0}}],
        "responses": {
            "200": _json({"type": "object", "properties": {
                "seq": {"type": "integer"}, "leaf_index": {"type": "integer"},
                "tree_size": {"type": "integer"}, "event_hash": STRING, "leaf_hash": STRING,
                "hashes": _HEX_LIST, "hashes_base64": _HEX_LIST, "root": STRING,
                "checkpoint": STRING}}, "Inclusion proof (hashes bottom-up, hex)"),
            **_errors(401, 403, 404, 409),
        },
    },
}

# Witness submissions (DESIGN §8). The metadata part is JSON; files stream as they arrive.
_SUB_ID = {"name": "public_id", "in": "path", "required": True, "schema": STRING}
_METADATA = {"type": "object", "description": "Unknown fields are ignored", "properties": {
    "testimony": STRING, "occurred_at": {"type": "string", "description": "ISO 8601"},
    "time_precision": {"type": "string", "enum": ["exact", "approximate", "unknown"]},
    "place": {"type": "string", "description": "gazetteer id, a place name in en/ru/kk, "
              "or prefer_not_to_say"},
    "point": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    "categories": {"type": "array", "items": STRING}, "tags": {"type": "array", "items": STRING},
    "counts": {"type": "object", "properties": {
        k: {"type": "integer", "minimum": 0} for k in ("injured", "detained", "killed")}},
    "forces": STRING,
    "consent": {"type": "object", "required": ["legal", "research", "publication", "contact"],
                "properties": {k: {"type": "boolean"} for k in (
                    "legal", "research", "publication", "contact")}},
    "uploads": {"type": "array", "items": STRING, "description": "finished tus upload ids"},
}, "required": ["time_precision", "place", "consent"]}
_ITEM = {"type": "object", "properties": {
    "id": STRING, "kind": {"type": "string", "enum": ["testimony", "file"]}, "name": STRING,
    "declared_type": STRING, "size": {"type": "integer"}, "received_at": STRING}}
_SUBMISSION = {"type": "object", "properties": {
    "id": STRING, "status": STRING, "created_at": STRING, "occurred_at": STRING,
    "time_precision": STRING, "date_only": {"type": "boolean"}, "place": STRING,
    "region": STRING, "has_point": {"type": "boolean"},
    "categories": {"type": "array", "items": STRING}, "tags": {"type": "array", "items": STRING},
    "counts": {"type": "object"}, "consent": {"type": "object"},
    "items": {"type": "array", "items": _ITEM}}}
_MULTIPART_FILES = {"type": "array", "items": {"type": "string", "format": "binary"}}

PATHS["/api/v1/submissions"] = {
    "post": {
        "summary": "Send a report: a `metadata` JSON part, then one `files` part per file",
        "requestBody": {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": ["metadata"], "properties": {
                "metadata": {**_METADATA, "description": "JSON text; send it before the files"},
                "files": _MULTIPART_FILES}},
            "encoding": {"metadata": {"contentType": "application/json"}}}}},
        "responses": {
            "201": _json({"type": "object", "properties": {"id": STRING}}, "Created"),
            **_errors(400, 401, 403, 404, 413, 503),
        },
    },
    "get": {
        "summary": "Your own submissions (staff: everyone's), newest first",
        "responses": {
            "200": _json({"type": "object", "properties": {
                "submissions": {"type": "array", "items": _SUBMISSION}}}, "Submissions"),
            **_errors(401, 403),
        },
    },
}
PATHS["/api/v1/submissions/{public_id}"] = {
    "get": {
        "summary": "One submission and its evidence items (someone else's: 404)",
        "parameters": [_SUB_ID],
        "responses": {"200": _json(_SUBMISSION, "Submission"), **_errors(401, 403, 404)},
    },
}
PATHS["/api/v1/submissions/{public_id}/files"] = {
    "post": {
        "summary": "Add files to your own submission (`files` parts and/or `uploads` ids)",
        "parameters": [_SUB_ID],
        "requestBody": {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "properties": {
                "files": _MULTIPART_FILES, "uploads": {
                    "type": "string", "description": "finished tus upload ids, comma-separated"}}
            }}}},
        "responses": {
            "201": _json({"type": "object", "properties": {
                "items": {"type": "array", "items": STRING}}}, "Added"),
            **_errors(400, 401, 403, 404, 413, 503),
        },
    },
}
PATHS["/api/v1/submissions/{public_id}/receipt"] = {
    "get": {
        "summary": "The receipt: hashes, salts, custody events, inclusion proofs, checkpoint",
        "parameters": [_SUB_ID],
        "responses": {"200": _json({"type": "object"}, "Receipt (incidents-receipt/v1)"),
                      **_errors(401, 403, 404, 409)},
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
