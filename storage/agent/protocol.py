"""The key agent's wire format: one JSON object per line each way (docs/formats.md).

A request is ``{"v": 1, "op": ..., ...}``; the answer ``{"ok": true, ...}`` or
``{"ok": false, "error": CODE, "message": ...}``. Byte strings are base64. One connection may
carry any number of requests in turn. ``dispatch`` is the whole server side, so the same code
answers over the socket and in-process (tests, ``vault_agent = "inprocess"``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from storage.agent.core import Vault
from storage.errors import (
    AgentRefused,
    ForeignShare,
    KeyStoreError,
    KeyUnavailable,
    SealedKeyError,
    VaultSealed,
    WrongShares,
)

log = logging.getLogger(__name__)

VERSION = 1
MAX_LINE = 64 * 1024
OPS = ("status", "open", "share", "passphrase", "seal", "rotate")

# Error codes on the wire, most specific first (ForeignShare is a WrongShares).
ERRORS: list[tuple[str, type[KeyStoreError]]] = [
    ("sealed", VaultSealed),
    ("foreign_share", ForeignShare),
    ("wrong_shares", WrongShares),
    ("unknown_key", KeyUnavailable),
    ("sealed_key", SealedKeyError),
    ("refused", AgentRefused),
    ("key_store", KeyStoreError),
]


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("ascii") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except ValueError as e:
        raise AgentRefused("the message is not JSON") from e
    if not isinstance(message, dict):
        raise AgentRefused("the message is not a JSON object")
    return message


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise AgentRefused(f"'{name}' must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as e:
        raise AgentRefused(f"'{name}' is not base64") from e


def _text(request: dict[str, Any], name: str, limit: int) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise AgentRefused(f"'{name}' must be a string of 1 to {limit} characters")
    return value


def error_reply(error: KeyStoreError) -> dict[str, Any]:
    for code, kind in ERRORS:
        if isinstance(error, kind):
            return {"ok": False, "error": code, "message": str(error)}
    return {"ok": False, "error": "key_store", "message": str(error)}


def raise_for(reply: dict[str, Any]) -> dict[str, Any]:
    """The reply when ok; otherwise the named storage error it stands for."""
    if reply.get("ok") is True:
        return reply
    code, message = reply.get("error"), str(reply.get("message", ""))
    for name, kind in ERRORS:
        if code == name:
            raise kind(message)
    raise KeyStoreError(message or "the key agent answered with an unknown error")


def dispatch(vault: Vault, request: dict[str, Any]) -> dict[str, Any]:
    """Answer one request; every failure is an error reply, never an exception."""
    try:
        if request.get("v") != VERSION:
            raise AgentRefused(f"protocol version must be {VERSION}")
        op = request.get("op")
        if op == "open":
            key = vault.open_data_key(_text(request, "key_id", 32),
                                      unb64(request.get("sealed"), "sealed"),
                                      _text(request, "blob_id", 128))
            return {"ok": True, "data_key": b64(key)}
        if op == "status":
            return {"ok": True, **vault.status()}
        if op == "share":
            return {"ok": True, **vault.add_share(_text(request, "share", 1024))}
        if op == "passphrase":
            return {"ok": True, **vault.unseal_with_passphrase(_text(request, "passphrase", 1024))}
        if op == "seal":
            return {"ok": True, **vault.seal()}
        if op == "rotate":
            return {"ok": True, "key_id": vault.rotate()}
        raise AgentRefused(f"unknown operation; expected one of {', '.join(OPS)}")
    except KeyStoreError as e:
        return error_reply(e)
    except (OSError, ValueError) as e:  # a key file vanished mid-way, a malformed value
        log.error("key agent request failed: %s", type(e).__name__)
        return {"ok": False, "error": "key_store", "message": type(e).__name__}
