"""tus 1.0.0 (https://tus.io/protocols/resumable-upload): the protocol lives in headers.

Nothing here is JSON, so these are the hand-written fragments of the upload routes.
"""

from __future__ import annotations

from typing import Any

STRING = {"type": "string"}
TUS = {"name": "Tus-Resumable", "in": "header", "required": True,
       "schema": {"type": "string", "const": "1.0.0"}}
OFFSET = {"Upload-Offset": {"schema": {"type": "integer"}}}
EXPIRES = {"Upload-Expires": {"schema": STRING, "description": "RFC 9110 date"}}
BYTES = {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}
CHECKSUM = {"name": "Upload-Checksum", "in": "header", "schema": STRING,
            "description": "sha256 <base64 digest> of the body"}

OPTIONS: dict[str, Any] = {"responses": {"204": {"description": "Capabilities", "headers": {
    name: {"schema": STRING} for name in
    ("Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm")}}}}
CREATE: dict[str, Any] = {
    "parameters": [
        TUS,
        {"name": "Upload-Length", "in": "header", "required": True,
         "schema": {"type": "integer", "minimum": 0}},
        {"name": "Upload-Metadata", "in": "header", "schema": STRING,
         "description": "filename and filetype, each base64; display-only"},
        CHECKSUM,
    ],
    "requestBody": {"required": False, "content": BYTES},
    "responses": {"201": {"description": "Created; Location is the upload URL",
                          "headers": {"Location": {"schema": STRING}, **OFFSET, **EXPIRES}}},
}
HEAD: dict[str, Any] = {
    "parameters": [TUS],
    "responses": {"200": {"description": "Progress", "headers": {
        **OFFSET, "Upload-Length": {"schema": {"type": "integer"}}, **EXPIRES}}},
}
PATCH: dict[str, Any] = {
    "parameters": [TUS, {"name": "Upload-Offset", "in": "header", "required": True,
                         "schema": {"type": "integer", "minimum": 0}}, CHECKSUM],
    "requestBody": {"required": True, "content": BYTES},
    "responses": {
        "204": {"description": "Stored; Upload-Offset is the new offset",
                "headers": {**OFFSET, **EXPIRES}},
        "460": {"description": "Checksum mismatch; nothing of this body was kept",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
    },
}
DELETE: dict[str, Any] = {"parameters": [TUS]}
