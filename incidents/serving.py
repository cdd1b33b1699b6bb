"""How the site is served: gunicorn's threaded worker with read deadlines, and private logs.

`gunicorn.conf.py` (read by `make run` and by any `gunicorn` started in the project folder)
names the two classes here.

Slow clients: each worker runs `threads` request threads (64 by default) beside a main
loop that accepts connections and waits for idle ones without a thread. A client dripping
its headers holds a thread for `HEADER_SECONDS` at most: the main loop shuts the socket of
any connection whose headers are not complete by then. A body must keep arriving: each
read waits `BODY_IDLE_SECONDS` at most, and the whole body must come at `MIN_BODY_RATE`
bytes per second or better (after `BODY_GRACE_SECONDS`; a chunked body, having no length,
only has the idle limit). Each can be changed through the environment of gunicorn
(`GUNICORN_HEADER_SECONDS`, `GUNICORN_BODY_IDLE_SECONDS`, `GUNICORN_BODY_GRACE_SECONDS`,
`GUNICORN_MIN_BODY_RATE`). Fifty dripping connections hold
at most fifty of the 128 threads of `make run`'s two workers, and only for seconds each;
tests/web/test_attack_server.py measures `GET /` and a witness's form under that attack.

Logs: gunicorn writes client addresses and request content into its error log (`Invalid
request from ip=…: <the request line>`). `PrivateLogger` lets through only its own
process messages (start, workers, signals) and writes anything else as a fixed sentence;
access logs are off. `SafeFormatter` writes an exception as its class and stack frames,
never its message (an SQL error carries its parameters, a decode error the bytes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import traceback
from types import TracebackType
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker


def _knob(name: str, default: float) -> float:
    """A deadline from the environment (`GUNICORN_<NAME>`, as gunicorn.conf.py's own knobs)."""
    return float(os.environ.get(f"GUNICORN_{name}", default))


HEADER_SECONDS = _knob("HEADER_SECONDS", 10.0)
BODY_IDLE_SECONDS = _knob("BODY_IDLE_SECONDS", 30.0)
BODY_GRACE_SECONDS = _knob("BODY_GRACE_SECONDS", 30.0)
# Bytes per second: a 2 MiB Tor upload at 20 KiB/s passes easily.
MIN_BODY_RATE = _knob("MIN_BODY_RATE", 4096)


class DeadlineThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, with deadlines on reading a request.

    A thread blocked reading a dripping client cannot be interrupted from inside, so
    the main loop, which wakes at least once a second, shuts the sockets of connections
    past their deadline; the blocked read then returns and the thread is free.
    """

    def init_process(self) -> None:
        self._deadlines: dict[Any, float] = {}
        self._deadlines_lock = threading.Lock()
        super().init_process()

    def _set_deadline(self, conn: Any, deadline: float | None) -> None:
        with self._deadlines_lock:
            if deadline is None:
                self._deadlines.pop(conn, None)
            else:
                self._deadlines[conn] = deadline

    def handle(self, conn: Any) -> Any:
        self._set_deadline(conn, time.monotonic() + HEADER_SECONDS)
        try:
            return super().handle(conn)
        finally:
            self._set_deadline(conn, None)

    def handle_request(self, req: Any, conn: Any) -> Any:
        # The headers are in: from now on the body must keep coming.
        length = 0
        for name, value in req.headers:
            if name == "CONTENT-LENGTH" and value.isascii() and value.isdigit():
                length = int(value)
        # A chunked body has no length to budget for: only the idle limit applies to it.
        if length:
            budget = BODY_GRACE_SECONDS + length / MIN_BODY_RATE
            self._set_deadline(conn, time.monotonic() + budget)
        else:
            self._set_deadline(conn, None)
        conn.sock.settimeout(BODY_IDLE_SECONDS)
        return super().handle_request(req, conn)

    def murder_keepalived(self, force: bool = False) -> None:
        super().murder_keepalived(force)
        now = time.monotonic()
        with self._deadlines_lock:
            overdue = [conn for conn, deadline in self._deadlines.items() if deadline < now]
            for conn in overdue:
                del self._deadlines[conn]
        for conn in overdue:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)


# gunicorn's own messages whose arguments are about the process, never about a client.
SAFE_TEMPLATES = frozenset({
    "Starting gunicorn %s",
    "Listening at: %s (%s)",
    "Listening at: %s",
    "Using worker: %s",
    "Booting worker with pid: %s",
    "Worker exiting (pid: %s)",
    "Handling signal: %s",
    "Shutting down: %s",
    "WORKER TIMEOUT (pid:%s)",
    "Worker (pid:%s) exited with code %s",
    "Worker (pid:%s) was sent SIGKILL! Perhaps out of memory?",
    "Worker (pid:%s) was sent code %s!",
    "Worker (pid:%s) was sent %s!",
    "Hang up: %s",
    "Ignoring unknown signal: %s",
    "Unhandled signal: %s",
})
SAFE_MESSAGES = frozenset({
    "graceful stop of workers",
    "Quick shutdown requested",
    "Autorestarting worker after current request.",
    "Master has been promoted.",
    "Reloader is on. Use in development only!",
    "Spawning dirty arbiter...",
})
WITHHELD = "gunicorn: a message about a request was withheld (it may name the client)"


def private_message(msg: object, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """The message as gunicorn may write it: its own process messages, or a fixed text."""
    if isinstance(msg, str) and (msg in SAFE_TEMPLATES or (not args and msg in SAFE_MESSAGES)):
        return msg, args
    return WITHHELD, ()


class PrivateLogger(Logger):
    """gunicorn's logger minus client addresses and request content; no access log."""

    def critical(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.log(logging.CRITICAL, msg, *args, **kwargs)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, **kwargs)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.log(logging.WARNING, msg, *args, **kwargs)

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.log(logging.INFO, msg, *args, **kwargs)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **kwargs)

    def log(self, lvl: Any, msg: object, *args: Any, **kwargs: Any) -> None:
        text, safe_args = private_message(msg, args)
        super().log(lvl, text, *safe_args, **kwargs)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return  # an access line names the client and the path: none is written


def describe_exception(exc_type: type[BaseException] | None, exc: BaseException | None,
                       tb: TracebackType | None) -> str:
    """Class and frames of an exception and its causes; never a message or a value."""
    parts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = "".join(traceback.format_tb(tb or exc.__traceback__))
        parts.append(f"{type(exc).__module__}.{type(exc).__qualname__}\n{frames}")
        exc = exc.__cause__ or exc.__context__
        tb = exc.__traceback__ if exc is not None else None
    if not parts and exc_type is not None:
        parts.append(exc_type.__qualname__)
    return "caused by ".join(reversed(parts)).rstrip()


class SafeFormatter(logging.Formatter):
    """A formatter that writes exceptions as class and frames only."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return describe_exception(*ei)


def logconfig(level: str = "INFO") -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its loggers and the application's, to stderr, safely."""
    formatter = {"()": "incidents.serving.SafeFormatter",
                 "format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"}
    handler = {"class": "logging.StreamHandler", "formatter": "safe",
               "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": level, "handlers": ["error_console"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True,
                               "qualname": "gunicorn.error"},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False,
                                "qualname": "gunicorn.access"},
        },
        "handlers": {"console": handler, "error_console": handler},
        "formatters": {"generic": formatter, "safe": formatter},
    }
