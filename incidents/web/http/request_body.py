"""A raw request body read straight into the caller's buffers, telling a cut from an end.

Under gunicorn, ``wsgi.input`` copies every byte several times through ``BytesIO`` buffers;
measured on the development VM that costs 2.2-3.0 s per GiB, more than encrypting and
hashing it (docs/performance.md, "Uploads"). For a body of known length the socket is
read directly with ``recv_into`` (0.4-0.7 s per GiB): first what gunicorn already
buffered while parsing the headers, then the rest, and gunicorn is told the body was
consumed; a body left half-read ends the connection after the answer. Any other server,
or a chunked body, goes through ``wsgi.input``. Use it as a context manager.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any


class RequestBody:
    """The request body, limited to Content-Length; a short read means the client left.

    ``readinto`` returns 0 at the end of the body, or when the client went away (a short
    body, a socket error, a broken chunked encoding): then ``disconnected`` is true, and
    whatever arrived before is the caller's to keep (tus: the offset reports it).
    """

    def __init__(self, environ: dict[str, Any], content_length: int | None) -> None:
        self._stream = environ["wsgi.input"]
        self._left = content_length
        # Without Content-Length only a server that terminates the input (chunked) is safe.
        self._open = content_length is not None or bool(environ.get("wsgi.input_terminated"))
        self.disconnected = False
        self._environ = environ
        self._raw: _GunicornSocket | None = None
        self._started = False

    def __enter__(self) -> RequestBody:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """If the body was read only in part, the connection cannot carry another request."""
        if self._raw is not None and self._left:
            self._raw.abandon()

    def readinto(self, buffer: bytearray | memoryview) -> int:
        if not self._open or self._left == 0:
            return 0
        if not self._started:  # attach only now: an unread body stays gunicorn's to drain
            self._started = True
            if self._left:
                self._raw = _GunicornSocket.attach(self._environ, self._left)
        view = memoryview(buffer)  # slicing a view never copies
        if self._left is not None and self._left < len(view):
            view = view[: self._left]
        try:
            n = self._raw.readinto(view) if self._raw is not None else self._read(view)
        except (OSError, ValueError, EOFError) as e:  # resets, timeouts, closed files
            return self._gone(e)
        except Exception as e:  # gunicorn's own NoMoreData, ChunkMissingTerminator...
            if type(e).__module__.startswith("gunicorn"):
                return self._gone(e)
            raise
        if not n:
            if self._left is not None:
                return self._gone(None)
            self._open = False
            return 0
        if self._left is not None:
            self._left -= n
        return n

    def _read(self, view: memoryview) -> int:
        if hasattr(self._stream, "readinto"):
            n: int = self._stream.readinto(view) or 0
            return n
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _gone(self, _error: Exception | None) -> int:
        self.disconnected = True
        self._open = False
        if self._raw is not None:
            self._raw.finish()
        return 0


class _GunicornSocket:
    """gunicorn's connection socket for a body of known length, bypassing its buffers."""

    def __init__(self, sock: socket.socket, reader: Any, buffered: bytes) -> None:
        self._sock = sock
        self._reader = reader
        self._buffered = memoryview(buffered)

    @classmethod
    def attach(cls, environ: dict[str, Any], length: int) -> _GunicornSocket | None:
        """Only for gunicorn's LengthReader with nothing of the body read yet; else None."""
        sock = environ.get("gunicorn.socket")
        body = environ.get("wsgi.input")
        reader = getattr(body, "reader", None)
        unreader: Any = getattr(reader, "unreader", None)
        body_buf = getattr(body, "buf", None)
        if (sock is None or type(reader).__name__ != "LengthReader"
                or getattr(reader, "length", None) != length
                or not hasattr(unreader, "take_buffered") or not hasattr(unreader, "unread")
                or body_buf is None or body_buf.tell() != 0):
            return None
        buffered = unreader.take_buffered()
        if len(buffered) > length:  # the start of a pipelined next request: give it back
            unreader.unread(buffered[length:])
            buffered = buffered[:length]
        return cls(sock, reader, buffered)

    def readinto(self, view: memoryview) -> int:
        if self._buffered:
            n = min(len(view), len(self._buffered))
            view[:n] = self._buffered[:n]
            self._buffered = self._buffered[n:]
        else:
            n = self._sock.recv_into(view)
        # Keep gunicorn's count right, so it neither waits for nor re-reads these bytes.
        self._reader.length -= n
        return n

    def finish(self) -> None:
        """The client is gone: there is nothing left for gunicorn to drain."""
        self._reader.length = 0

    def abandon(self) -> None:
        """Stop mid-body: gunicorn must close the connection after the answer, not parse
        the rest of this body as a next request. Closing our reading side makes its next
        read see the end of the stream."""
        self._reader.length = 0
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RD)
