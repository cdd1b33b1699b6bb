"""Request body limits by route class, JSON nesting cap, and closing after a refused body.

Only the evidence routes (marked `@streams_large_body`: the streamed multipart forms and the
tus upload) may receive large bodies; they read them in bounded pieces and check every
limit as bytes arrive. Every other route gets `max_json_body_bytes` (1 MiB): a declared
Content-Length over it is refused with 413 before a byte of the body is read, and a
chunked body is cut at the cap by Werkzeug's limited stream (also 413).

JSON deeper than `MAX_JSON_DEPTH` is refused (400) before it is parsed: Python's parser
recurses, and 100,000 nested brackets would raise RecursionError (a 500).

After any 4xx/5xx answer to a request that carried a body, the connection is closed
(`Connection: close`, RFC 9112 §9.6): the server may not have read the body, and reading
what is left as the next request is how a testimony fragment once reached the log.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge

from incidents.core.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])
MAX_JSON_DEPTH = 32

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class JsonTooDeep(ValueError):
    """The JSON document nests arrays or objects deeper than MAX_JSON_DEPTH."""


def json_depth_exceeds(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than `limit` (no parsing, no recursion)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b'""', raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}:]', re.DOTALL)


def too_deep_field(data: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """The top-level field under which `data` nests too deeply ("" when not under one)."""
    depth, key, last = 0, "", b""
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return key
        elif token in (b"]", b"}"):
            depth -= 1
        elif token == b":" and depth == 1 and last.startswith(b'"'):
            key = last[1:-1].decode("utf-8", "replace")
        last = token
    return None


class DepthLimitedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing documents nested deeper than MAX_JSON_DEPTH before parsing."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if json_depth_exceeds(s):
            raise JsonTooDeep("nested too deeply")
        return super().loads(s, **kwargs)


def streams_large_body(view: F) -> F:
    """Mark an evidence route that streams its own (large) body under its own limits."""
    view.streams_large_body = True  # type: ignore[attr-defined]
    return view


def _limit_body(app: Flask, cap: int) -> None:
    view = app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "streams_large_body", False):
        return
    # One byte over the cap may be read from a chunked body, so that `read_body` can tell
    # a body of exactly the cap from a longer one that Werkzeug's stream cut short.
    request.max_content_length = cap + 1
    if request.content_length is not None and request.content_length > cap:
        raise RequestEntityTooLarge()


def read_body() -> bytes:
    """The whole (capped) body of a non-evidence route, or 413 if it was longer."""
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and len(raw) >= limit:
        raise RequestEntityTooLarge()
    return raw


class CloseAfterRefusedBody:
    """WSGI middleware: after a 4xx/5xx to a request with a body, end the connection.

    gunicorn ignores a `Connection` header from the application (hop-by-hop), but its
    `start_response` belongs to the response object, whose `force_close` makes it answer
    `Connection: close` and close instead of reading the next request. An unread rest
    is not drained either: the reading side is shut at once.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        has_body = (environ.get("CONTENT_LENGTH") not in (None, "", "0")
                    or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower())
        if not has_body:
            return self.app(environ, start_response)

        def closing_start_response(status: str, headers: list[tuple[str, str]],
                                   exc_info: Any = None) -> Any:
            if status[:1] in ("4", "5"):
                response = getattr(start_response, "__self__", None)
                force_close = getattr(response, "force_close", None)
                if callable(force_close):
                    force_close()
                    # Shut our reading side too: gunicorn's graceful close would otherwise
                    # wait (up to 2 s, in its main loop) for a client that keeps sending
                    # or never hangs up.
                    sock = environ.get("gunicorn.socket")
                    if sock is not None:
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RD)
                else:  # another server (the test client, a proxy) may honour the header
                    headers = [*headers, ("Connection", "close")]
            return start_response(status, headers, exc_info) if exc_info \
                else start_response(status, headers)

        return self.app(environ, closing_start_response)


def init_app(app: Flask, settings: Settings) -> None:
    app.json = DepthLimitedJSONProvider(app)
    cap = settings.max_json_body_bytes
    app.before_request(lambda: _limit_body(app, cap))
    app.wsgi_app = CloseAfterRefusedBody(app.wsgi_app)  # type: ignore[method-assign]
