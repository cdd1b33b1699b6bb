"""Computing a perceptual hash of a picture (imagehash's DCT pHash)."""

from __future__ import annotations

import imagehash
from PIL import Image


def phash(image: Image.Image) -> int:
    """The 64-bit perceptual hash of an (already upright) image, as an unsigned integer."""
    return int(str(imagehash.phash(image, hash_size=8)), 16)
