"""EXIF extraction with exifread, in a child process with a time and memory limit.

Malformed EXIF (IFD loops, huge counts) has crashed or hung parsers before, so exifread never
runs in the worker itself: `extract_exif` starts this file as a script (`python -I exif.py`),
sends the bytes on stdin and reads one JSON object back. The child caps its own address space
and CPU time; the parent kills it at the wall-clock timeout. Either way the caller gets an
`ExifResult` and the worker survives.

This module imports only the standard library and exifread, so the child starts quickly and
never loads the application (`-I` keeps the project off ``sys.path``).
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import exifread

# Only this much of a file goes to the parser: EXIF sits in the first segments of JPEG, PNG,
# WebP and TIFF files and in the `meta` box near the start of HEIF files.
MAX_EXIF_INPUT = 32 * 1024 * 1024
CHILD_MEMORY_BYTES = 1024 * 1024 * 1024
DEFAULT_TIMEOUT = 10.0
# The full tag list kept for reviewers is capped so a hostile file cannot bloat it.
MAX_TAGS = 400
MAX_VALUE_CHARS = 512
_SKIP_PREFIXES = ("Thumbnail JPEGInterchangeFormat", "JPEGThumbnail", "TIFFThumbnail",
                  "MakerNote", "EXIF MakerNote")


@dataclass
class ExifResult:
    """What the parser found; ``status`` is ok, none, error or timeout."""

    status: str
    fields: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def extract_exif(data: bytes, timeout: float = DEFAULT_TIMEOUT) -> ExifResult:
    """Parse EXIF from ``data`` in a child process; never raises for bad input."""
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv: this interpreter and this file
            [sys.executable, "-I", str(Path(__file__).resolve())],
            input=data[:MAX_EXIF_INPUT],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ExifResult("timeout")
    if proc.returncode != 0:
        return ExifResult("error")
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        return ExifResult("error")
    if not isinstance(doc, dict):
        return ExifResult("error")
    return ExifResult(str(doc.get("status", "error")), dict(doc.get("fields") or {}),
                      dict(doc.get("tags") or {}))


# ----- everything below runs in the child -----


def _ratio(value: Any) -> float | None:
    try:
        if hasattr(value, "num") and hasattr(value, "den"):
            return float(Fraction(value.num, value.den)) if value.den else None
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None


def _dms(tag: Any, ref: Any) -> float | None:
    """Degrees, minutes, seconds rationals (EXIF 2.3 §4.6.6) to signed decimal degrees."""
    if tag is None:
        return None
    values = list(getattr(tag, "values", []) or [])
    if len(values) != 3:
        return None
    parts = [_ratio(v) for v in values]
    if any(p is None for p in parts):
        return None
    degrees = parts[0] + parts[1] / 60 + parts[2] / 3600  # type: ignore[operator]
    if not 0 <= degrees <= 180:
        return None
    sign = str(getattr(ref, "printable", ref) or "").strip().upper()
    return round(-degrees if sign in {"S", "W"} else degrees, 7)


def _text(tags: dict[str, Any], *names: str) -> str | None:
    for name in names:
        tag = tags.get(name)
        if tag is None:
            continue
        text = str(tag.printable).replace("\x00", "").strip()
        if text:
            return text[:MAX_VALUE_CHARS]
    return None


def _capture_time(tags: dict[str, Any]) -> str | None:
    """EXIF DateTimeOriginal as ISO 8601 local time, with its offset where the file has one."""
    raw = _text(tags, "EXIF DateTimeOriginal", "EXIF DateTimeDigitized", "Image DateTime")
    if not raw or len(raw) < 19:
        return None
    date, _, time = raw[:19].partition(" ")
    stamp = f"{date.replace(':', '-')}T{time}"
    if not (stamp[:4].isdigit() and stamp[5:7].isdigit() and stamp[8:10].isdigit()):
        return None
    offset = _text(tags, "EXIF OffsetTimeOriginal", "EXIF OffsetTime")
    if offset and len(offset) == 6 and offset[0] in "+-":
        stamp += offset
    return stamp


def _fields(tags: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "captured_at": _capture_time(tags),
        "make": _text(tags, "Image Make"),
        "model": _text(tags, "Image Model"),
        "serial": _text(tags, "EXIF BodySerialNumber", "MakerNote SerialNumber",
                        "EXIF CameraSerialNumber", "Image CameraSerialNumber"),
        "software": _text(tags, "Image Software"),
        "orientation": None,
        "gps": None,
    }
    orientation = tags.get("Image Orientation")
    if orientation is not None:
        values = list(getattr(orientation, "values", []) or [])
        if values and isinstance(values[0], int) and 1 <= values[0] <= 8:
            out["orientation"] = values[0]
    lat = _dms(tags.get("GPS GPSLatitude"), tags.get("GPS GPSLatitudeRef"))
    lon = _dms(tags.get("GPS GPSLongitude"), tags.get("GPS GPSLongitudeRef"))
    if lat is not None and lon is not None and abs(lat) <= 90:
        gps: dict[str, Any] = {"lat": lat, "lon": lon, "alt": None}
        alt_tag = tags.get("GPS GPSAltitude")
        if alt_tag is not None and getattr(alt_tag, "values", None):
            alt = _ratio(alt_tag.values[0])
            ref = tags.get("GPS GPSAltitudeRef")
            below = bool(ref is not None and list(ref.values or [0])[0] == 1)
            gps["alt"] = None if alt is None else round(-alt if below else alt, 2)
        out["gps"] = gps
    return out


def _all_tags(tags: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, tag in tags.items():
        if len(out) >= MAX_TAGS:
            break
        if name.startswith(_SKIP_PREFIXES) or not hasattr(tag, "printable"):
            continue
        out[str(name)[:100]] = str(tag.printable).replace("\x00", "")[:MAX_VALUE_CHARS]
    return out


def _webp_exif(data: bytes) -> bytes | None:
    """The TIFF-structured payload of a WebP file's EXIF chunk (RIFF, WebP container spec)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if kind == b"EXIF":
            payload = data[pos + 8 : pos + 8 + length]
            return payload[6:] if payload.startswith(b"Exif\x00\x00") else payload
        pos += 8 + length + (length & 1)
    return None


def _child_main() -> int:
    """Parse stdin, print one JSON object. Runs with its own resource limits."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    cpu = int(DEFAULT_TIMEOUT) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    data = sys.stdin.buffer.read()
    webp = _webp_exif(data)
    try:
        tags = exifread.process_file(io.BytesIO(webp if webp else data), details=False,
                                     extract_thumbnail=False)
    except (Exception, RecursionError):  # noqa: BLE001 - any parser failure is "error"
        json.dump({"status": "error"}, sys.stdout)
        return 0
    if not tags:
        json.dump({"status": "none"}, sys.stdout)
        return 0
    json.dump({"status": "ok", "fields": _fields(tags), "tags": _all_tags(tags)}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(_child_main())
