"""The OpenAPI 3.1 document of /api/v1/: every route of the blueprint must be described."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from incidents.api.v1 import openapi_actors
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

# Researchers: published incidents (docs/data-dictionary.md explains every field).
_RESEARCH_FILTERS = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
    for name, schema, text in (
        ("from", {"type": "string", "format": "date"}, "first local (Asia/Almaty) day"),
        ("to", {"type": "string", "format": "date"}, "last local day, included"),
        ("region", STRING, "gazetteer region ids, repeated or comma-separated"),
        ("town", STRING, "gazetteer town ids, repeated or comma-separated"),
        ("category", STRING, "category ids (any of)"),
        ("tag", STRING, "sub-tag ids (any of)"),
        ("verification", STRING, "reported, corroborated, verified (any of)"),
        ("has_photo", {"type": "string", "enum": ["yes", "no", "any"]}, ""),
        ("has_video", {"type": "string", "enum": ["yes", "no", "any"]}, ""),
        ("q", {"type": "string", "maxLength": 100}, "words in the title or public excerpt"),
        ("sort", {"type": "string", "enum": ["start", "-start", "published", "-published",
                                             "-killed", "-injured", "-detained"]}, ""),
    )
]
_PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "enum": [25, 50, 100]}},
]
_PUBLIC_INCIDENT = {"type": "object", "description": "The columns of docs/data-dictionary.md"}
PATHS["/api/v1/incidents"] = {
    "get": {
        "summary": "Published incidents, filtered and paged (researchers and staff)",
        "parameters": [*_RESEARCH_FILTERS, *_PAGING],
        "responses": {
            "200": _json({"type": "object", "properties": {
                "total": {"type": "integer"}, "page": {"type": "integer"},
                "per_page": {"type": "integer"},
                "incidents": {"type": "array", "items": _PUBLIC_INCIDENT}}}, "Incidents"),
            **_errors(400, 401, 403),
        },
    },
}
for _kind, _type in (("csv", "text/csv"), ("json", "application/json"),
                     ("geojson", "application/geo+json")):
    PATHS[f"/api/v1/timeline.{_kind}"] = {
        "get": {
            "summary": f"Every published incident matching the filters, streamed as {_kind}",
            "parameters": list(_RESEARCH_FILTERS),
            "responses": {
                "200": {"description": "Streamed download (docs/data-dictionary.md)",
                        "content": {_type: {"schema": {"type": "string"}}}},
                **_errors(400, 401, 403),
            },
        },
    }

# --- review, incidents, cases, evidence, bundles (staff only) ---------------------------
_ID = {"name": "public_id", "in": "path", "required": True, "schema": STRING}
_OBJ = {"type": "object"}
_IDS = {"type": "array", "items": STRING}
_STAFF_ERRORS = (400, 401, 403, 404)


def _op(summary: str, code: str = "200", body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None,
        content: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary, "parameters": params if params is not None else [_ID],
        "responses": {code: content or _json(_OBJ, "OK"), **_errors(*_STAFF_ERRORS)}}
    if body is not None:
        op["requestBody"] = _body(body, [])
    return op


_QUEUE_PARAMS = [{"name": n, "in": "query", "required": False, "schema": STRING}
                 for n in ("status", "from", "to", "place", "category", "has_media",
                           "near_duplicate", "mine")]
_INCIDENT_FIELDS = {n: STRING for n in (
    "title", "description", "summary", "start_utc", "end_utc", "time_precision", "place",
    "location_precision", "verification")} | {
    "categories": _IDS, "tags": _IDS, "injured": {"type": "integer"},
    "detained": {"type": "integer"}, "killed": {"type": "integer"}}
_ZIP = {"description": "The bundle: a BagIt bag in a ZIP, streamed",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}
PATHS.update({
    "/api/v1/review/queue": {"get": _op("Submissions for review, filtered (status: new, "
                                        "in_review, needs_info, accepted, rejected)",
                                        params=_QUEUE_PARAMS)},
    "/api/v1/review/submissions/{public_id}": {"get": _op("A submission as reviewers see it")},
    "/api/v1/review/submissions/{public_id}/status": {
        "post": _op("Change the status (a custody event)", body={"status": STRING})},
    "/api/v1/review/submissions/{public_id}/assign": {
        "post": _op("Assign to a reviewer (pseudonym; empty: yourself)",
                    body={"reviewer": STRING})},
    "/api/v1/review/submissions/{public_id}/notes": {
        "post": _op("Add a reviewer note (never shown to the witness)", "201",
                    body={"body": STRING, "item": STRING})},
    "/api/v1/review/submissions/{public_id}/requests": {
        "post": _op("Ask the witness for more information", "201",
                    body={"question": STRING})},
    "/api/v1/review/items/{public_id}/assessments": {
        "post": _op("Assess an item: source reliability A-F, information credibility 1-6",
                    "201", body={"reliability": STRING, "credibility": {"type": "integer"},
                                 "reason": STRING})},
    "/api/v1/evidence/{public_id}/original": {
        "get": _op("The original bytes, as an attachment (a custody event names you first)",
                   content={"description": "The original",
                            "content": {"application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}}}})},
    "/api/v1/evidence/{public_id}/integrity": {
        "post": _op("Decrypt, re-hash and compare (custody event integrity_checked)")},
    "/api/v1/review/incidents": {
        "get": _op("Incidents (reviewers' view, published or not)", params=[]),
        "post": _op("Create an incident from submissions and items", "201",
                    body=_INCIDENT_FIELDS | {"submissions": _IDS, "items": _IDS}, params=[]),
    },
    "/api/v1/review/incidents/{public_id}": {
        "get": _op("One incident (reviewers' view)"),
        "put": _op("Replace the incident's fields", body=_INCIDENT_FIELDS),
    },
    "/api/v1/review/incidents/{public_id}/publish": {
        "post": _op("Publish to researchers (or withdraw with published=false); a custody "
                    "event", body={"published": {"type": "boolean"}})},
    "/api/v1/review/incidents/{public_id}/merge": {
        "post": _op("Merge other incidents into this one", body={"sources": _IDS})},
    "/api/v1/review/incidents/{public_id}/split": {
        "post": _op("Move submissions into a new incident", "201",
                    body={"submissions": _IDS, "title": STRING})},
    "/api/v1/cases": {
        "get": _op("Your cases (admins: all, names and members only)", params=[]),
        "post": _op("Create a case (you become its first member)", "201", params=[],
                    body={"name": STRING, "description": STRING, "kind": {
                        "type": "string", "enum": ["prosecution", "un_communication",
                                                   "sanctions_dossier", "other"]}}),
    },
    "/api/v1/cases/{public_id}": {"get": _op("A case (members only: 403 otherwise)")},
    "/api/v1/cases/{public_id}/members": {
        "post": _op("Admins: add or remove members by pseudonym",
                    body={"add": _IDS, "remove": _IDS})},
    "/api/v1/cases/{public_id}/incidents": {
        "post": _op("Add incidents to a case (members only)", body={"incidents": _IDS})},
    "/api/v1/cases/{public_id}/items": {
        "post": _op("Add evidence items to a case (members only)", body={"items": _IDS})},
    "/api/v1/bundles": {
        "post": _op("Export an evidence bundle for items, an incident or a case (members "
                    "only); streamed. Items without consent to legal use are withheld.",
                    params=[], content=_ZIP,
                    body={"evidence_ids": _IDS, "incident_id": STRING, "case_id": STRING})},
})
PATHS.update(openapi_actors.PATHS)


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
                                                 "field": STRING}},
                        **openapi_actors.COMPONENTS},
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": PATHS,
    }


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
