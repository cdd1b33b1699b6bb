"""Types come from the bytes; declared types and extensions are compared, never trusted."""

from __future__ import annotations

import pytest

from incidents.services.media.sniff import MediaKind, declared_mismatch, has_markup, sniff
from tests.fixtures import media


@pytest.mark.parametrize(("data", "mime"), [
    (media.photo("JPEG"), "image/jpeg"),
    (media.photo("PNG"), "image/png"),
    (media.photo("WEBP"), "image/webp"),
    (media.photo("TIFF"), "image/tiff"),
    (media.sample("heic_mobile_iphone_13_pro_max.HEIC"), "image/heic"),
    (media.sample("heic_samplefilehub.heif"), "image/heic"),
    (media.video("mp4"), "video/mp4"),
    (media.video("mov"), "video/quicktime"),
    (media.video("webm"), "video/webm"),
    (media.video("matroska"), "video/x-matroska"),
    (media.video("3gp", codec="mpeg4", with_audio=False, size=(176, 144)), "video/3gpp"),
    (media.audio("ipod"), "audio/mp4"),
    (media.audio("ogg"), "audio/ogg"),
    (media.audio("wav"), "audio/wav"),
    (b"#!AMR\n" + bytes(32), "audio/amr"),
    (b"ID3\x04\x00" + bytes(64), "audio/mpeg"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
], ids=["jpeg", "png", "webp", "tiff", "heic", "heif", "mp4", "mov", "webm", "mkv", "3gp",
        "m4a", "ogg", "wav", "amr", "mp3", "pdf"])
def test_allowed_types_are_recognised_from_their_bytes(data: bytes, mime: str) -> None:
    found = sniff(data[:4096])
    assert (found.mime, found.allowed) == (mime, True)


@pytest.mark.parametrize(("data", "mime"), [
    (media.svg_with_script(), "image/svg+xml"),
    (b"<!DOCTYPE html><html><script>x()</script>", "text/html"),
    (b"#!/bin/sh\nrm -rf /\n", "text/x-script"),
    (b"PK\x03\x04" + bytes(40), "application/zip"),
    (b"GIF89a" + bytes(20), "image/gif"),
    (b"", "application/x-empty"),
    (b"just some text", "application/octet-stream"),
], ids=["svg", "html", "script", "zip", "gif", "empty", "text"])
def test_types_off_the_allow_list_are_named_but_refused(data: bytes, mime: str) -> None:
    found = sniff(data)
    assert (found.mime, found.allowed, found.kind) == (mime, False, MediaKind.OTHER)


def test_a_jpeg_html_polyglot_is_a_jpeg_with_markup() -> None:
    data = media.jpeg_html_polyglot()
    assert sniff(data).mime == "image/jpeg"
    assert has_markup(data)
    assert not has_markup(media.photo("JPEG"))


@pytest.mark.parametrize(("declared_type", "name", "mismatch"), [
    ("image/jpeg", "IMG_0001.JPG", False),
    ("image/jpg", "photo.jpeg", False),
    ("", "", False),
    ("application/octet-stream", "blob", False),
    ("image/png", "photo.jpg", True),
    ("image/jpeg", "photo.png", True),
    ("image/jpeg", "x.jpg.php", True),
    ("text/html", "x.jpg", True),
])
def test_a_declared_type_or_extension_that_disagrees_is_a_mismatch(
        declared_type: str, name: str, mismatch: bool) -> None:
    assert declared_mismatch(sniff(media.photo("JPEG")), declared_type, name) is mismatch


def test_an_mp4_declared_as_m4a_audio_is_not_a_mismatch() -> None:
    assert not declared_mismatch(sniff(media.video("mp4")), "audio/mp4", "voice.m4a")
