"""A streaming multipart/form-data reader (RFC 7578) that sends file parts straight to sinks.

Werkzeug's form parser spools large files to plaintext temporary files; evidence may never
touch the disk unencrypted, so forms that carry evidence are read here instead: the body is
read in 1 MiB pieces into one reused buffer, fed to `python_multipart.MultipartParser`, and
each file part is written as it arrives into a sink (an encrypting blob writer). Text fields
are kept in memory under a cap. Every limit is checked as the bytes arrive, and any failure
aborts the open sink and discards the ones already committed, so nothing is left behind.

No Flask here: the caller passes the body stream and the headers it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from incidents.core.errors import N_, InvalidInput, PayloadTooLarge, ServiceUnavailable
from storage.errors import BlobTooLarge, StorageError
from storage.files import read_full

READ_SIZE = 1024 * 1024
MAX_PART_HEADER_BYTES = 16 * 1024  # one header line; a 5 KB file name still fits
MAX_PART_HEADERS = 8

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class FileSink(Protocol[T_co]):
    """Where one file part goes: `write` repeatedly, then `commit` (or `abort`)."""

    def write(self, data: memoryview, /) -> int: ...

    def commit(self) -> T_co: ...

    def abort(self) -> None: ...


class BodyStream(Protocol):
    def readinto(self, buffer: bytearray | memoryview, /) -> int | None: ...


@dataclass(frozen=True)
class FormLimits:
    """Caps of one form: parts, text per field and in all, bytes per file and per body."""

    max_parts: int
    max_field_bytes: int
    max_file_bytes: int
    max_body_bytes: int

    @property
    def max_text_bytes(self) -> int:
        return 4 * self.max_field_bytes


@dataclass(frozen=True)
class ReceivedFile(Generic[T]):
    """A file part as the client declared it, and what its sink returned on commit.

    `filename` and `content_type` are client claims: never use them as a path or a type.
    """

    field: str
    filename: str
    content_type: str
    size: int
    stored: T


@dataclass
class StreamedForm(Generic[T]):
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[ReceivedFile[T]] = field(default_factory=list)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


MAX_BOUNDARY = 200


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = ""
    text: bytearray = field(default_factory=bytearray)
    sink: Any = None
    size: int = 0


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary from a Content-Type header, or 400."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary", b"")
    # RFC 2046 caps boundaries at 70 characters, but real clients exceed it (Werkzeug's
    # test client does, now and then); a looser cap costs nothing and keeps them working.
    if kind != b"multipart/form-data" or not boundary or len(boundary) > MAX_BOUNDARY:
        raise InvalidInput(N_("The request must be sent as multipart/form-data."))
    return boundary


class _Reader(Generic[T]):
    def __init__(
        self,
        limits: FormLimits,
        open_sink: Callable[[int], FileSink[T]],
        file_fields: frozenset[str],
        on_fields_ready: Callable[[Mapping[str, list[str]]], None] | None,
    ) -> None:
        self.limits = limits
        self.open_sink = open_sink
        self.file_fields = file_fields
        self.on_fields_ready = on_fields_ready
        self.fields_ready = False
        self.form: StreamedForm[T] = StreamedForm()
        self.part = _Part()
        self.parts = 0
        self.text_bytes = 0
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: dict[bytes, bytes] = {}
        self.ended = False

    # python-multipart callbacks ------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise PayloadTooLarge(N_("The form has too many parts."))
        self.part = _Part()
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_name).strip().lower()] = bytes(self.header_value).strip()
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self.headers.get(b"content-disposition"))
        name = options.get(b"name")
        if disposition != b"form-data" or name is None:
            raise InvalidInput(N_("A part of the form has no field name."))
        part = self.part
        part.name = _text(name)
        filename = options.get(b"filename")
        if filename is None:
            return
        if part.name not in self.file_fields:
            raise InvalidInput(N_("This field does not take files."), field=part.name)
        part.filename = _text(filename)
        part.content_type = _text(self.headers.get(b"content-type", b""))[:255]
        if part.filename:  # an empty name is an empty file input: open a sink only for data
            self._open(part)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        n = end - start
        if part.filename is None:
            part.text += data[start:end]
            self.text_bytes += n
            if len(part.text) > self.limits.max_field_bytes:
                raise PayloadTooLarge(N_("The field %(name)s is too long."), field=part.name,
                                      name=part.name)
            if self.text_bytes > self.limits.max_text_bytes:
                raise PayloadTooLarge(N_("The form's text is too long."))
            return
        if not n:
            return
        if part.sink is None:
            self._open(part)
        part.size += n
        if part.size > self.limits.max_file_bytes:
            raise PayloadTooLarge(N_("A file is larger than we accept."), field=part.name)
        part.sink.write(memoryview(data)[start:end])

    def on_part_end(self) -> None:
        part = self.part
        if part.filename is None:
            try:
                value = part.text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InvalidInput(N_("The field %(name)s is not valid UTF-8."),
                                   field=part.name, name=part.name) from e
            self.form.fields.setdefault(part.name, []).append(value)
            return
        if part.sink is None:
            return  # an empty file input: nothing was chosen
        sink, part.sink = part.sink, None
        stored = sink.commit()
        self.form.files.append(ReceivedFile(part.name, part.filename, part.content_type,
                                            part.size, stored))

    def on_end(self) -> None:
        self.ended = True

    # -------------------------------------------------------------------------------------
    def _open(self, part: _Part) -> None:
        self.fields_are_ready()
        part.sink = self.open_sink(self.limits.max_file_bytes)

    def fields_are_ready(self) -> None:
        if not self.fields_ready:
            self.fields_ready = True
            if self.on_fields_ready is not None:
                self.on_fields_ready(self.form.fields)

    def callbacks(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (
            "on_part_begin", "on_header_field", "on_header_value", "on_header_end",
            "on_headers_finished", "on_part_data", "on_part_end", "on_end")}

    def cleanup(self, discard: Callable[[T], None]) -> None:
        if self.part.sink is not None:
            self.part.sink.abort()
            self.part.sink = None
        for received in self.form.files:
            discard(received.stored)
        self.form.files.clear()


def read_form(
    stream: BodyStream,
    *,
    content_type: str | None,
    content_length: int | None,
    limits: FormLimits,
    open_sink: Callable[[int], FileSink[T]],
    discard: Callable[[T], None],
    file_fields: frozenset[str] = frozenset({"files"}),
    on_fields_ready: Callable[[Mapping[str, list[str]]], None] | None = None,
) -> StreamedForm[T]:
    """Read a whole multipart body, streaming each file into a sink from `open_sink(max)`.

    `on_fields_ready(fields)` runs once, before the first file sink opens (or at the end if
    there is no file): the place to check a CSRF token or metadata sent ahead of the files.
    Raises PayloadTooLarge (413) as soon as a limit is crossed, InvalidInput (400) on a
    malformed or incomplete body, ServiceUnavailable (503) when the store fails; in every
    case the open sink is aborted and committed ones are passed to `discard`. Committed
    results are the caller's to keep or `discard` once this returns.
    """
    boundary = boundary_of(content_type)
    if content_length is not None and content_length > limits.max_body_bytes:
        raise PayloadTooLarge()
    reader: _Reader[T] = _Reader(limits, open_sink, file_fields, on_fields_ready)
    parser = MultipartParser(boundary, reader.callbacks(),  # type: ignore[arg-type]
                             max_header_count=MAX_PART_HEADERS,
                             max_header_size=MAX_PART_HEADER_BYTES)
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    received = 0
    try:
        while True:
            n = read_full(stream, view)
            if not n:
                break
            received += n
            if received > limits.max_body_bytes:
                raise PayloadTooLarge()
            # A full buffer is passed as is (no copy); only the last, short read is copied.
            parser.write(buffer if n == READ_SIZE else bytes(view[:n]))  # type: ignore[arg-type]
            if reader.ended:
                break
        if not reader.ended:
            raise InvalidInput(N_("The form arrived incomplete. Nothing was stored."))
        reader.fields_are_ready()
    except MultipartParseError as e:
        reader.cleanup(discard)
        raise InvalidInput(N_("The form could not be read. Nothing was stored.")) from e
    except BlobTooLarge as e:
        reader.cleanup(discard)
        raise PayloadTooLarge(N_("A file is larger than we accept.")) from e
    except StorageError as e:  # disk full, object store down: the backend's own error
        reader.cleanup(discard)
        raise ServiceUnavailable() from e
    except BaseException:
        reader.cleanup(discard)
        raise
    finally:
        buffer[:] = bytes(len(buffer))  # no plaintext left in freed memory
    return reader.form


def _text(raw: bytes) -> str:
    """Header bytes (UTF-8 as browsers send it, read as latin-1 by the parser) as text."""
    return raw.decode("utf-8", errors="replace")
