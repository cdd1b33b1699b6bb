"""Container metadata of video and audio files, read with PyAV (FFmpeg's demuxers).

What phones write: creation time, an ISO 6709 location ("+43.2567+076.9286+850.000/", in
QuickTime `©xyz` or `com.apple.quicktime.location.ISO6709`), device make and model, plus
duration and codecs. The file is read through a seekable view of the blob, never whole.
"""

from __future__ import annotations

import re
from typing import IO, Any

import av
import av.error

from incidents.services.media.results import MediaFlagged

MAX_TAGS = 200
MAX_VALUE_CHARS = 512
_LOCATION_KEYS = ("com.apple.quicktime.location.ISO6709", "location", "location-eng")
_TIME_KEYS = ("com.apple.quicktime.creationdate", "creation_time", "date")
_MAKE_KEYS = ("com.apple.quicktime.make", "make", "com.android.manufacturer")
_MODEL_KEYS = ("com.apple.quicktime.model", "model", "com.android.model")
_SOFTWARE_KEYS = ("com.apple.quicktime.software", "com.android.version", "encoder")
# ISO 6709 point: latitude, longitude, optional altitude, optional CRS, then "/".
_ISO6709 = re.compile(
    r"^(?P<lat>[+-]\d{2,6}(?:\.\d+)?)(?P<lon>[+-]\d{3,7}(?:\.\d+)?)"
    r"(?P<alt>[+-]\d+(?:\.\d+)?)?(?:CRS[^/]*)?/?$"
)


def parse_iso6709(text: str) -> dict[str, float | None] | None:
    """ISO 6709 Annex H point → {"lat", "lon", "alt"} in decimal degrees and metres."""
    match = _ISO6709.match(text.strip())
    if not match:
        return None
    lat = _angle(match["lat"], 2)
    lon = _angle(match["lon"], 3)
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    alt = float(match["alt"]) if match["alt"] else None
    return {"lat": round(lat, 7), "lon": round(lon, 7), "alt": alt}


def _angle(text: str, degree_digits: int) -> float | None:
    """±DD.D, ±DDMM.M or ±DDMMSS.S (longitude with three degree digits)."""
    sign = -1.0 if text[0] == "-" else 1.0
    whole, _, frac = text[1:].partition(".")
    fraction = float(f"0.{frac}") if frac else 0.0
    if len(whole) == degree_digits:
        return sign * (int(whole) + fraction)
    if len(whole) == degree_digits + 2:
        minutes = int(whole[degree_digits:]) + fraction
        return sign * (int(whole[:degree_digits]) + minutes / 60)
    if len(whole) == degree_digits + 4:
        seconds = int(whole[degree_digits + 2 :]) + fraction
        minutes = int(whole[degree_digits : degree_digits + 2])
        return sign * (int(whole[:degree_digits]) + minutes / 60 + seconds / 3600)
    return None


def _first(tags: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = tags.get(key)
        if value and value.strip():
            return value.strip()[:MAX_VALUE_CHARS]
    return None


def _clean_tags(tags: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in list(tags.items())[:MAX_TAGS]:
        out[str(key)[:100]] = str(value).replace("\x00", "")[:MAX_VALUE_CHARS]
    return out


def open_container(fp: IO[bytes]) -> Any:
    """Open for reading; a file FFmpeg cannot demux is flagged corrupt."""
    try:
        return av.open(fp, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as e:
        raise MediaFlagged("corrupt", "container cannot be demuxed") from e


def probe(fp: IO[bytes]) -> dict[str, Any]:
    """Container and stream metadata as plain JSON-able values."""
    with open_container(fp) as container:
        return describe(container)


def describe(container: Any) -> dict[str, Any]:
    tags = _clean_tags(dict(container.metadata))
    location_text = _first(tags, _LOCATION_KEYS)
    streams = []
    stream_tags: dict[str, dict[str, str]] = {}
    for stream in container.streams:
        entry: dict[str, Any] = {"index": stream.index, "type": stream.type}
        ctx = stream.codec_context
        entry["codec"] = ctx.name if ctx is not None else None
        if stream.type == "video" and ctx is not None:
            entry.update(width=ctx.width, height=ctx.height,
                         rate=float(stream.average_rate) if stream.average_rate else None)
        elif stream.type == "audio" and ctx is not None:
            entry.update(sample_rate=ctx.sample_rate, channels=ctx.channels)
        streams.append(entry)
        if stream.metadata:
            stream_tags[str(stream.index)] = _clean_tags(dict(stream.metadata))
    duration = container.duration / av.time_base if container.duration else None
    return {
        "format": container.format.name,
        "duration": round(duration, 3) if duration is not None else None,
        "created_at": _first(tags, _TIME_KEYS) or _stream_value(stream_tags, "creation_time"),
        "location": parse_iso6709(location_text) if location_text else None,
        "location_text": location_text,
        "make": _first(tags, _MAKE_KEYS),
        "model": _first(tags, _MODEL_KEYS),
        "software": _first(tags, _SOFTWARE_KEYS),
        "streams": streams,
        "tags": tags,
        "stream_tags": stream_tags,
    }


def _stream_value(stream_tags: dict[str, dict[str, str]], key: str) -> str | None:
    for tags in stream_tags.values():
        if tags.get(key):
            return tags[key]
    return None
