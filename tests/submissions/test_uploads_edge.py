"""THREATS.md "Uploads": hostile names, limits, empty and chunk-sized files, failures mid-way."""

from __future__ import annotations

import dataclasses
import errno
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import BlobRecord, CustodyEvent, EvidenceItem, EvidenceKind, Submission
from incidents.web.db import get_session
from storage.blobstore import DEFAULT_CHUNK_SIZE
from storage.errors import StorageFull
from tests.submissions.helpers import (
    api_get,
    auth,
    blob_files,
    fresh_g,
    gen_metadata,
    post_submission,
)

BOUNDARY = "xYzZY"


def _rows() -> tuple[int, int, int]:
    session = get_session()
    session.rollback()
    count = sa.func.count()
    return (session.scalar(sa.select(count).select_from(Submission)) or 0,
            session.scalar(sa.select(count).select_from(EvidenceItem)) or 0,
            session.scalar(sa.select(count).select_from(CustodyEvent)) or 0)


def _multipart(metadata: dict[str, Any], files: list[tuple[str, bytes]]) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
             .encode() + json.dumps(metadata).encode() + b"\r\n"]
    for header_name, data in files:
        parts.append(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; "
                     f"filename=\"{header_name}\"\r\nContent-Type: image/jpeg\r\n\r\n"
                     .encode() + data + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _raw_post(client: FlaskClient, token: str, body: bytes | Iterator[bytes],
              **headers: str) -> Any:
    fresh_g()
    return client.post("/api/v1/submissions", data=body,
                       headers={**auth(token), **headers,
                                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


def _item_names(client: FlaskClient, token: str, public_id: str) -> list[str]:
    body = api_get(client, f"/api/v1/submissions/{public_id}", token).get_json()
    return [i["name"] for i in body["items"] if i["kind"] == "file"]


@pytest.mark.parametrize(("sent", "kept"), [
    # Only the base name is kept (issue 11): a full client path names the witness.
    ("../../x", "x"),
    ("/etc/passwd", "passwd"),
    ("C:\\x", "x"),
    ("a\\u0000b.jpg", None),
    ("evil\u202egpj.exe", "evil\\u202egpj.exe"),
    ('<img src=x onerror=alert(1)>.jpg', '<img src=x onerror=alert(1)>.jpg'),
])
def test_hostile_file_names_are_kept_only_as_inert_text(
        app: Flask, client: FlaskClient, witness_token: str, sent: str,
        kept: str | None) -> None:
    response = post_submission(client, witness_token, gen_metadata(),
                               [(b"data", sent, "image/jpeg")])
    assert response.status_code == 201
    names = _item_names(client, witness_token, response.get_json()["id"])
    if kept is not None:
        assert names == [kept]
    for path in blob_files(app):  # storage names are the server's own random ids
        assert len(path.name) == 32


def test_control_characters_in_a_name_are_escaped(client: FlaskClient,
                                                  witness_token: str) -> None:
    body = _multipart(gen_metadata(), [("a\x01b\x7fc.jpg", b"x")])
    response = _raw_post(client, witness_token, body)
    assert response.status_code == 201
    assert _item_names(client, witness_token, response.get_json()["id"]) == [
        "a\\u0001b\\u007fc.jpg"]


def test_a_5_kb_file_name_is_capped(client: FlaskClient, witness_token: str) -> None:
    response = post_submission(client, witness_token, gen_metadata(),
                               [(b"x", "я" * 5000 + ".jpg", "image/jpeg")])
    assert response.status_code == 201
    [name] = _item_names(client, witness_token, response.get_json()["id"])
    assert len(name) == 255
    assert name.endswith("…")


@pytest.mark.parametrize("size", [0, DEFAULT_CHUNK_SIZE, 2 * DEFAULT_CHUNK_SIZE, 1])
def test_empty_and_chunk_sized_files_round_trip_exactly(
        app: Flask, client: FlaskClient, witness_token: str, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    # Built by hand: Werkzeug's test encoder drops the CRLF before the boundary of an empty
    # part, which RFC 2046 (and browsers) do not.
    response = _raw_post(client, witness_token, _multipart(gen_metadata(), [("f.bin", data)]))
    assert response.status_code == 201, response.get_json()
    item = get_session().scalar(sa.select(EvidenceItem).where(
        EvidenceItem.kind == EvidenceKind.FILE))
    assert item is not None
    assert item.size == size
    store = app.extensions["blobstore"]
    row = get_session().get(BlobRecord, item.blob_id)
    with store.open(row) as reader:
        assert reader.read() == data


def _small(app: Flask, **overrides: Any) -> None:
    settings = dataclasses.replace(app.extensions["settings"], **overrides)
    app.extensions["settings"] = settings


def test_a_file_over_the_limit_is_refused_with_413_and_nothing_is_left(
        app: Flask, client: FlaskClient, witness_token: str) -> None:
    _small(app, max_upload_bytes=1000)
    before = _rows()
    response = _raw_post(client, witness_token,
                         _multipart(gen_metadata(), [("big.jpg", b"x" * 1001)]))
    assert response.status_code == 413
    assert _rows() == before
    assert blob_files(app) == []


def test_a_declared_body_over_the_limit_is_refused_before_reading(
        app: Flask, client: FlaskClient, witness_token: str) -> None:
    _small(app, max_upload_bytes=1000, max_form_field_bytes=1000)
    body = io.BytesIO(b"x" * 10)
    fresh_g()
    response = client.post(
        "/api/v1/submissions", input_stream=body,
        environ_overrides={"CONTENT_LENGTH": str(100 * 1024 * 1024)},
        headers={**auth(witness_token),
                 "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 413
    assert body.tell() == 0  # not one byte was read


def test_thousands_of_parts_are_refused_with_413(app: Flask, client: FlaskClient,
                                                 witness_token: str) -> None:
    body = _multipart(gen_metadata(), [(f"{i}.jpg", b"x") for i in range(300)])
    before = _rows()
    response = _raw_post(client, witness_token, body)
    assert response.status_code == 413
    assert _rows() == before
    assert blob_files(app) == []


def test_one_huge_text_field_is_refused_with_413(app: Flask, client: FlaskClient,
                                                 witness_token: str) -> None:
    huge = gen_metadata(testimony="a" * (app.extensions["settings"].max_form_field_bytes + 1))
    response = _raw_post(client, witness_token, _multipart(huge, []))
    assert response.status_code == 413


def test_a_body_that_stops_mid_file_stores_nothing(app: Flask, client: FlaskClient,
                                                   witness_token: str) -> None:
    body = _multipart(gen_metadata(), [("a.jpg", b"y" * 300_000)])
    before = _rows()
    response = _raw_post(client, witness_token, body[:200_000])
    assert response.status_code == 400
    assert _rows() == before
    assert blob_files(app) == []


@contextmanager
def _disk_full_after(app: Flask, limit: int) -> Iterator[None]:
    """A backend whose writes fail with ENOSPC after `limit` bytes, like a full disk."""
    backend = app.extensions["blobstore"].backend
    original = backend.writer

    @contextmanager
    def writer(name: str) -> Iterator[Any]:
        with original(name) as sink:
            written = [0]
            real = sink.write

            def write(data: Any) -> int:
                written[0] += len(data)
                if written[0] > limit:
                    raise StorageFull(f"no space left ({errno.ENOSPC})")
                return real(data)

            sink.write = write
            yield sink

    backend.writer = writer
    try:
        yield
    finally:
        backend.writer = original


def test_disk_full_mid_write_answers_503_and_leaves_no_row_event_or_blob(
        app: Flask, client: FlaskClient, witness_token: str) -> None:
    before = _rows()
    with _disk_full_after(app, 3 * DEFAULT_CHUNK_SIZE):
        response = post_submission(client, witness_token, gen_metadata(),
                                   [(b"z" * (5 * DEFAULT_CHUNK_SIZE), "v.mp4", "video/mp4")])
    assert response.status_code == 503
    assert _rows() == before
    assert blob_files(app) == []


def test_testimony_and_file_bytes_never_appear_in_plaintext_on_disk(
        app: Flask, client: FlaskClient, witness_token: str) -> None:
    testimony = "UNIQUE-TESTIMONY-MARKER-7f3a Мы видели БТР у акимата"
    photo = b"UNIQUE-FILE-MARKER-91c2" * 1000
    response = post_submission(client, witness_token, gen_metadata(testimony=testimony),
                               [(photo, "UNIQUE-NAME-MARKER.jpg", "image/jpeg")])
    assert response.status_code == 201
    get_session().commit()
    needles = [testimony.encode(), testimony.encode("utf-16-le"), b"UNIQUE-FILE-MARKER-91c2",
               "Мы видели БТР".encode()]
    instance = app.extensions["settings"].instance_path
    for path in instance.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for needle in needles:
                assert needle not in content, f"plaintext found in {path.name}"
    # Every text-like column of every table, as a dump would show it (SQLite or PostgreSQL).
    connection = get_session().connection()
    for table in sa.inspect(connection).get_table_names():
        rows = connection.execute(sa.text(f'SELECT * FROM "{table}"')).fetchall()
        dump = repr(rows).encode("utf-8", "backslashreplace")
        for needle in (b"UNIQUE-TESTIMONY-MARKER", b"UNIQUE-FILE-MARKER", "Мы видели".encode()):
            assert needle not in dump, f"plaintext found in table {table}"
