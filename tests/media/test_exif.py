"""EXIF via exifread in a child process: right values, and hostile files cannot hang us."""

from __future__ import annotations

import time

import pytest

from incidents.services.media.exif import extract_exif
from tests.fixtures import media


@pytest.mark.parametrize("name", ["jpg_gps_DSCN0010.jpg", "jpg_gps_DSCN0012.jpg",
                                  "jpg_gps_DSCN0021.jpg", "jpg_gps_DSCN0025.jpg"])
def test_gps_camera_and_time_come_out_of_the_nikon_samples(name: str) -> None:
    result = extract_exif(media.sample(name))
    fields = result.fields
    assert result.status == "ok"
    assert (fields["make"], fields["model"]) == ("NIKON", "COOLPIX P6000")
    assert fields["captured_at"].startswith("2008-10-22T16:")
    lat, lon = fields["gps"]["lat"], fields["gps"]["lon"]
    # N 43°28′, E 11°53′, to within a minute of arc
    assert abs(lat - (43 + 28 / 60)) < 1 / 60
    assert abs(lon - (11 + 53 / 60)) < 1 / 60


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_written_by_pillow_is_read_back_from_each_photo_format(fmt: str) -> None:
    fields = extract_exif(media.photo(fmt)).fields
    assert fields["gps"] == {"lat": media.GPS_LAT, "lon": media.GPS_LON, "alt": media.GPS_ALT}
    assert (fields["make"], fields["model"]) == (media.DEVICE_MAKE, media.DEVICE_MODEL)
    assert fields["serial"] == "SN-4242-FIXTURE"
    assert fields["captured_at"] == "2022-01-05T14:30:00"


def test_the_iphone_heic_gives_its_camera_and_orientation() -> None:
    fields = extract_exif(media.sample("heic_mobile_iphone_13_pro_max.HEIC")).fields
    assert (fields["make"], fields["model"]) == ("Apple", "iPhone 13 Pro Max")
    assert fields["orientation"] == 6


@pytest.mark.parametrize("name", ["jpg_tests_36-memory_error.jpg", "jpg_tests_35-empty.jpg",
                                  "jpg_invalid_image01088.jpg", "jpg_invalid_image02206.jpg",
                                  "jpg_tests_67-0_length_string.jpg", "jpg_corrupted.jpg",
                                  "jpg_tests_45-gps_ifd.jpg"])
def test_files_that_crashed_parsers_finish_well_under_the_timeout(name: str) -> None:
    start = time.monotonic()
    result = extract_exif(media.sample(name), timeout=5)
    assert time.monotonic() - start < 5
    assert result.status in {"ok", "none", "error"}


def test_a_gps_ifd_without_coordinates_gives_no_position() -> None:
    assert extract_exif(media.sample("jpg_tests_45-gps_ifd.jpg")).fields["gps"] is None


def test_a_parser_that_runs_past_the_timeout_is_killed_and_reported() -> None:
    # A large TIFF-ish input costs the child more than this tiny budget allows.
    result = extract_exif(media.sample("jpg_corrupted.jpg"), timeout=0.001)
    assert result.status == "timeout"


def test_zero_bytes_and_random_bytes_give_no_metadata() -> None:
    assert extract_exif(b"").status == "none"
    assert extract_exif(bytes(range(256)) * 10).status in {"none", "error"}
