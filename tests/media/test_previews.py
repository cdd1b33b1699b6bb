"""Previews and thumbnails: upright, and carrying no metadata at all."""

from __future__ import annotations

import io

import exifread
import pytest
from PIL import Image

from incidents.services.media.previews import image_derivatives
from incidents.services.media.results import MediaFlagged
from tests.fixtures import media


def assert_no_metadata(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"} & set(image.info)
    assert exifread.process_file(io.BytesIO(data), details=False) == {}
    assert b"Exif" not in data
    assert b"http://ns.adobe.com/xap" not in data


@pytest.mark.parametrize("data", [
    media.photo("JPEG"), media.photo("PNG"), media.photo("WEBP"), media.photo("TIFF"),
    media.sample("jpg_gps_DSCN0010.jpg"), media.sample("jpg_xmp_BlueSquare.jpg"),
    media.sample("jpg_Canon_40D.jpg"), media.sample("heic_mobile_iphone_13_pro_max.HEIC"),
    media.sample("tiff_Arbitro.tiff"),
], ids=["jpeg", "png", "webp", "tiff", "nikon-gps", "xmp", "canon", "heic", "sample-tiff"])
def test_preview_and_thumbnail_carry_no_exif_xmp_or_gps(data: bytes) -> None:
    outcome = image_derivatives(io.BytesIO(data))
    assert [d.kind for d in outcome.derivatives] == ["preview", "thumbnail"]
    for derivative in outcome.derivatives:
        assert_no_metadata(derivative.data)
        assert media.DEVICE_MAKE.encode() not in derivative.data


@pytest.mark.parametrize(("name", "portrait"), [
    ("jpg_orientation_landscape_6.jpg", False),
    ("jpg_orientation_portrait_8.jpg", True),
    ("heic_mobile_iphone_13_pro_max.HEIC", True),
])
def test_previews_of_rotated_photos_come_out_upright(name: str, portrait: bool) -> None:
    stored = Image.open(io.BytesIO(media.sample(name)))
    outcome = image_derivatives(io.BytesIO(media.sample(name)))
    for derivative in outcome.derivatives:
        assert (derivative.height > derivative.width) is portrait
        assert Image.open(io.BytesIO(derivative.data)).size == (derivative.width,
                                                               derivative.height)
    if name.endswith(".jpg"):  # stored sideways: the preview is turned
        assert (stored.height > stored.width) is not portrait


def test_a_photo_with_orientation_6_from_pillow_is_turned_upright() -> None:
    outcome = image_derivatives(io.BytesIO(media.photo("JPEG", size=(640, 480), orientation=6)))
    assert (outcome.derivatives[0].width, outcome.derivatives[0].height) == (480, 640)


def test_previews_are_downscaled_to_their_sizes() -> None:
    outcome = image_derivatives(io.BytesIO(media.sample("jpg_mobile_jolla.jpg")))
    preview, thumbnail = outcome.derivatives
    assert max(preview.width, preview.height) == 1280
    assert max(thumbnail.width, thumbnail.height) == 320
    assert "Pillow" in preview.method
    assert preview.method.startswith("preview-jpeg-1280")


@pytest.mark.parametrize("data", [media.png_bomb(20000, 20000),
                                  media.between_one_and_two_limits()],
                         ids=["20000x20000", "between-1x-and-2x"])
def test_decompression_bombs_are_refused_at_open(data: bytes) -> None:
    with pytest.raises(MediaFlagged) as caught:
        image_derivatives(io.BytesIO(data))
    assert caught.value.flag == "bomb"


@pytest.mark.parametrize("data", [media.truncated(media.photo("PNG")), b"\x89PNG\r\n\x1a\n",
                                  media.truncated(media.sample("jpg_gps_DSCN0010.jpg"), 0.3)],
                         ids=["png-half", "png-signature-only", "jpeg-30pc"])
def test_truncated_images_are_flagged_corrupt(data: bytes) -> None:
    with pytest.raises(MediaFlagged) as caught:
        image_derivatives(io.BytesIO(data))
    assert caught.value.flag == "corrupt"
