"""Working copies of images: an upright preview and a thumbnail made from pixels only.

A derivative is a new image built from decoded pixel data (``Image.frombytes``), so it carries
no EXIF, XMP, ICC profile, comment or maker note of the original; orientation is applied to
the pixels first (``ImageOps.exif_transpose``). Decompression bombs are refused at open: the
pixel count is checked against Pillow's limit and Pillow's own warning is promoted to an
error while the image is open.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import PIL
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from incidents.services.media.phash_image import phash
from incidents.services.media.results import Derivative, MediaFlagged

# HEIC/HEIF photos from phones: libheif decodes them, with the container's rotation applied.
pillow_heif.register_heif_opener()

PREVIEW_MAX = 1280
THUMBNAIL_MAX = 320
JPEG_QUALITY = 85
PILLOW = f"Pillow {PIL.__version__}"


@dataclass(frozen=True)
class ImageOutcome:
    width: int
    height: int
    frames: int
    derivatives: list[Derivative]
    phash: int


@contextmanager
def bomb_guard() -> Iterator[None]:
    """Promote Pillow's DecompressionBombWarning to an error for the code inside."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def check_pixels(width: int, height: int) -> None:
    """Refuse sizes over Pillow's limit ourselves too: warning filters are process-global."""
    limit = Image.MAX_IMAGE_PIXELS
    if width <= 0 or height <= 0:
        raise MediaFlagged("corrupt", "image has no pixels")
    if limit is not None and width * height > limit:
        raise MediaFlagged("bomb", "image declares more pixels than the limit")


def open_image(fp: IO[bytes]) -> Image.Image:
    """Open (header only) and check the size; raise MediaFlagged for bombs and junk."""
    try:
        with bomb_guard():
            image = Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise MediaFlagged("bomb", "image declares more pixels than the limit") from e
    except UnidentifiedImageError as e:
        raise MediaFlagged("corrupt", "image decoder does not recognise the data") from e
    except (OSError, ValueError, SyntaxError, EOFError, RuntimeError) as e:
        raise MediaFlagged("corrupt", "image header cannot be read") from e
    check_pixels(*image.size)
    return image


def decode_upright(image: Image.Image, longest: int) -> Image.Image:
    """Decode (JPEG at reduced DCT scale where enough), apply orientation, return RGB pixels."""
    try:
        with bomb_guard():
            if image.format == "JPEG":
                image.draft("RGB", (longest * 2, longest * 2))  # cap what is decoded
            image.load()
            upright = _transpose(image)
            return _rgb(upright)
    except MediaFlagged:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise MediaFlagged("bomb", "image decodes to more pixels than the limit") from e
    except (OSError, ValueError, SyntaxError, EOFError, RuntimeError, MemoryError) as e:
        raise MediaFlagged("corrupt", "image data cannot be decoded") from e


def _transpose(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, RecursionError):
        # Unreadable EXIF: keep the stored orientation (the child parser reports the tag).
        return image


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def pixels_only(image: Image.Image) -> Image.Image:
    """A brand-new RGB image from the pixel data alone: no info, EXIF, ICC or XMP carried over."""
    rgb = _rgb(image)
    return Image.frombytes("RGB", rgb.size, rgb.tobytes())


def encode_jpeg(image: Image.Image, longest: int, kind: str) -> Derivative:
    """Downscale to ``longest`` pixels on the long side and encode a metadata-free JPEG."""
    copy = pixels_only(image)
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, exif=b"",
              icc_profile=None, comment=b"")
    method = f"{kind}-jpeg-{longest} {PILLOW}"
    return Derivative(kind, out.getvalue(), "image/jpeg", method, copy.width, copy.height)


def still_derivatives(upright: Image.Image, *, preview_kind: str) -> list[Derivative]:
    """Preview (or poster) and thumbnail of an upright RGB picture."""
    return [encode_jpeg(upright, PREVIEW_MAX, preview_kind),
            encode_jpeg(upright, THUMBNAIL_MAX, "thumbnail")]


def image_derivatives(fp: IO[bytes]) -> ImageOutcome:
    """Open, check, decode and derive; the pHash is of the upright first frame."""
    image = open_image(fp)
    try:
        width, height = image.size
        frames = int(getattr(image, "n_frames", 1) or 1)
        upright = decode_upright(image, PREVIEW_MAX)
        derivatives = still_derivatives(upright, preview_kind="preview")
        return ImageOutcome(width, height, frames, derivatives, phash(upright))
    finally:
        image.close()
