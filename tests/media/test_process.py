"""process_item end to end: real store, real keys, real database, real files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import (
    BlobRecord,
    CustodyEvent,
    MediaDerivative,
    MediaFlagRecord,
    MediaPhash,
    MediaProcessing,
    ProcessingStatus,
    Submission,
)
from incidents.models.base import Base
from incidents.services.evidence import blobs
from incidents.services.media.duplicates import near_duplicates
from incidents.services.media.process import process_item
from storage.blobstore import BlobStore
from tests.fixtures import media
from tests.media.conftest import ItemFactory, gen_submission


def flags(session: Session, item_id: int) -> set[str]:
    rows = session.scalars(select(MediaFlagRecord.flag).where(MediaFlagRecord.item_id == item_id))
    return {flag.value for flag in rows}


def derivatives(session: Session, item_id: int) -> dict[str, MediaDerivative]:
    rows = session.scalars(select(MediaDerivative).where(MediaDerivative.item_id == item_id))
    return {row.kind.value: row for row in rows}


def read_blob(session: Session, store: BlobStore, blob_id: str) -> bytes:
    with blobs.open_for_reading(session, store, session.get(BlobRecord, blob_id),
                                actor=None) as reader:
        return reader.read()


def metadata(session: Session, store: BlobStore, item_id: int) -> dict:
    row = session.get(MediaProcessing, item_id)
    assert row is not None
    assert row.metadata_blob_id
    return json.loads(read_blob(session, store, row.metadata_blob_id))


def test_a_photo_gets_sealed_metadata_clean_previews_and_custody_events(
        session: Session, store: BlobStore, gen_item: ItemFactory) -> None:
    original = media.sample("jpg_gps_DSCN0010.jpg")
    item = gen_item(original, name="DSCN0010.JPG", declared_type="image/jpeg")
    row = process_item(session, store, item.id)
    assert (row.status, row.sniffed_type) == (ProcessingStatus.DONE, "image/jpeg")
    assert flags(session, item.id) == set()
    found = metadata(session, store, item.id)
    assert found["exif"]["model"] == "COOLPIX P6000"
    assert abs(found["exif"]["gps"]["lat"] - (43 + 28 / 60)) < 1 / 60
    made = derivatives(session, item.id)
    assert set(made) == {"preview", "thumbnail"}
    preview = read_blob(session, store, made["preview"].blob_id)
    assert not Image.open(io.BytesIO(preview)).getexif()
    actions = [e.action for e in session.scalars(
        select(CustodyEvent).where(CustodyEvent.subject == f"evidence:{item.public_id}"))]
    assert actions.count("derivative_made") == 2
    assert "metadata_extracted" in actions
    assert actions[-1] == "processed"
    event = session.scalars(select(CustodyEvent).where(
        CustodyEvent.action == "derivative_made")).first()
    assert event is not None
    assert event.details["source"] == f"blob:{item.blob_id}"
    assert event.details["method"].startswith(("preview-jpeg-1280 Pillow", "thumbnail-jpeg"))
    assert read_blob(session, store, item.blob_id) == original  # the original is untouched


def test_a_video_with_location_gets_sealed_container_metadata_and_a_clean_preview(
        session: Session, store: BlobStore, gen_item: ItemFactory) -> None:
    item = gen_item(media.video("mp4"), name="clip.mp4", declared_type="video/mp4")
    process_item(session, store, item.id)
    found = metadata(session, store, item.id)
    assert found["container"]["location"] == {"lat": 43.2381, "lon": 76.9452, "alt": 850.0}
    assert set(derivatives(session, item.id)) == {"poster", "thumbnail", "video_preview"}
    assert session.get(MediaPhash, item.id) is not None


@pytest.mark.parametrize(("data", "name", "declared", "expected"), [
    (b"", "empty.jpg", "image/jpeg", {"empty", "type_mismatch"}),
    (media.sample("jpg_corrupted.jpg"), "c.jpg", "image/jpeg", {"corrupt"}),
    (media.truncated(media.photo("PNG")), "t.png", "image/png", {"corrupt"}),
    (media.png_bomb(20000, 20000), "big.png", "image/png", {"bomb"}),
    (media.between_one_and_two_limits(), "big.png", "image/png", {"bomb"}),
    (media.jpeg_html_polyglot(), "poly.jpg", "image/jpeg", {"polyglot"}),
    (media.photo("JPEG"), "photo.png", "image/png", {"type_mismatch"}),
    (media.svg_with_script(), "pic.svg", "image/svg+xml", {"unsupported"}),
    (media.svg_with_script(), "pic.jpg", "image/jpeg", {"unsupported", "type_mismatch"}),
    (b"PK\x03\x04" + bytes(100), "a.zip", "application/zip", {"unsupported"}),
    (media.truncated(media.video("mp4"), 0.4), "v.mp4", "video/mp4", {"corrupt"}),
], ids=["zero-byte", "corrupt-jpeg", "truncated-png", "bomb-20000", "bomb-1x-2x", "polyglot",
        "wrong-extension", "svg-script", "svg-as-jpeg", "zip", "truncated-mp4"])
def test_bad_files_are_kept_and_flagged_without_an_exception(
        session: Session, store: BlobStore, gen_item: ItemFactory, data: bytes, name: str,
        declared: str, expected: set[str]) -> None:
    item = gen_item(data, name=name, declared_type=declared)
    row = process_item(session, store, item.id)
    assert row.status is ProcessingStatus.DONE
    assert flags(session, item.id) == expected
    assert read_blob(session, store, item.blob_id) == data
    if expected & {"unsupported", "bomb", "empty"}:
        assert derivatives(session, item.id) == {}


def test_processing_twice_changes_nothing(session: Session, store: BlobStore,
                                          gen_item: ItemFactory) -> None:
    item = gen_item(media.photo("JPEG"), name="a.jpg", declared_type="image/jpeg")
    process_item(session, store, item.id)
    count = session.query(CustodyEvent).count()
    process_item(session, store, item.public_id)
    assert session.query(CustodyEvent).count() == count


def test_near_duplicates_are_found_across_submissions_and_strangers_are_not(
        app: Flask, session: Session, store: BlobStore, gen_item: ItemFactory) -> None:
    original = media.sample("jpg_gps_DSCN0010.jpg")
    first = gen_item(original, name="a.jpg")
    copy = gen_item(media.reencoded(original, scale=0.6, quality=60), name="b.jpg")
    other = gen_item(media.sample("jpg_gps_DSCN0025.jpg"), name="c.jpg")
    same_submission = gen_item(original, name="d.jpg",
                               submission=session.get(Submission, first.submission_id))
    for item in (first, copy, other, same_submission):
        process_item(session, store, item.id)
    found = near_duplicates(session, app.extensions["keys"], first.id)
    assert [d.item_id for d in found] == [copy.id]
    assert found[0].distance <= 8


def test_perceptual_hashes_are_sealed_not_stored_in_the_clear(
        session: Session, store: BlobStore, gen_item: ItemFactory) -> None:
    item = gen_item(media.sample("jpg_gps_DSCN0010.jpg"), name="a.jpg")
    process_item(session, store, item.id)
    row = session.get(MediaPhash, item.id)
    assert row is not None
    assert len(row.sealed) > 100


def test_nothing_extracted_appears_in_plaintext_under_the_instance_folder(
        app: Flask, session: Session, store: BlobStore, gen_item: ItemFactory) -> None:
    submission = gen_submission(session)
    for data, name in ((media.photo("JPEG"), "a.jpg"), (media.video("mov"), "b.mov"),
                       (media.sample("jpg_gps_DSCN0010.jpg"), "c.jpg")):
        item = gen_item(data, name=name, submission=submission)
        process_item(session, store, item.id)
    session.close()
    needles = [media.DEVICE_MAKE.encode(), media.DEVICE_MODEL.encode(), b"SN-4242-FIXTURE",
               b"COOLPIX P6000", b"43.2381", b"76.9452", b"43.4674", b"11.8851",
               b"+43.2381+076.9452"]
    instance = Path(app.extensions["settings"].instance_path)
    files = [p for p in instance.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite3" for p in files) or app.extensions["database"].url
    for path in files:
        content = path.read_bytes()
        for needle in needles:
            assert needle not in content, f"{needle!r} in plaintext in {path.name}"
    with app.extensions["database"].engine.connect() as connection:  # PostgreSQL too
        for table in Base.metadata.sorted_tables:
            dump = repr(connection.execute(table.select()).all()).encode()
            for needle in needles:
                assert needle not in dump, f"{needle!r} in plaintext in table {table.name}"
