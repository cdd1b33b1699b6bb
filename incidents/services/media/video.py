"""Video and audio: container metadata, an upright poster frame and the playable copy.

The playable copy (`services.media.playable`, kind `video_preview`) is H.264/AAC re-encoded
from decoded pixels and samples, with no container or stream tags. The poster goes through
the same pixels-only JPEG path as photo previews.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

import av
import av.error
from PIL import Image

from incidents.services.media.av_meta import describe, open_container
from incidents.services.media.phash_image import phash
from incidents.services.media.playable import make_playable
from incidents.services.media.previews import check_pixels, still_derivatives
from incidents.services.media.results import Derivative, MediaFlagged

POSTER_AT_SECONDS = 1.0
# Decode at most this many frames (or seconds) looking for the poster.
MAX_DECODED_FRAMES = 2000
POSTER_SEARCH_SECONDS = 10.0


@dataclass
class AvOutcome:
    metadata: dict[str, Any]
    flags: list[tuple[str, str]] = field(default_factory=list)
    derivatives: list[Derivative] = field(default_factory=list)
    phash: int | None = None


def analyse(fp: IO[bytes], *, want_video: bool) -> AvOutcome:
    """Probe the container; make the poster and thumbnail of a video, and the playable copy."""
    rotation = 0
    with open_container(fp) as container:
        outcome = AvOutcome(describe(container))
        streams = container.streams.video
        if not want_video and streams and \
                streams[0].disposition & av.stream.Disposition.attached_pic:
            streams = []  # cover art in an audio file
        if streams:
            poster = _poster(container, streams[0], outcome)
            if poster is None:
                return outcome
            image, rotation = poster
            outcome.derivatives.extend(still_derivatives(image, preview_kind="poster"))
            outcome.phash = phash(image)
        elif not container.streams.audio:
            return outcome
    fp.seek(0)
    try:
        playable = make_playable(fp, with_video=want_video, rotation=rotation)
    except MediaFlagged as e:
        outcome.flags.append((e.flag, e.reason))
        return outcome
    if playable is not None:
        outcome.derivatives.append(playable)
    return outcome


def _poster(container: Any, stream: Any, outcome: AvOutcome) -> tuple[Image.Image, int] | None:
    """The poster frame and the display rotation, or None with the reason in ``outcome``."""
    if stream.codec_context is None:
        outcome.flags.append(("unsupported", "no decoder for the video codec"))
        return None
    check_pixels(stream.codec_context.width or 1, stream.codec_context.height or 1)
    try:
        found = _find_poster(_decode_frames(container, stream))
    except MediaFlagged:
        raise
    except (av.error.FFmpegError, ValueError, OSError, MemoryError) as e:
        outcome.flags.append(("corrupt", "video frames cannot be decoded"))
        if isinstance(e, av.error.DecoderNotFoundError):
            outcome.flags[-1] = ("unsupported", "no decoder for the video codec")
        return None
    if found is None:
        outcome.flags.append(("corrupt", "no video frame could be decoded"))
    return found


def _upright(frame: Any) -> Image.Image:
    """The frame as an RGB picture, turned as the display matrix says (phones record sideways)."""
    image = frame.to_image()
    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
    if rotation:
        # The display matrix angle is counter-clockwise; PIL's rotate is too.
        image = image.rotate(rotation, expand=True)
    return image


def _decode_frames(container: Any, stream: Any) -> Any:
    stream.thread_type = "AUTO"
    count = 0
    for frame in container.decode(stream):
        if frame.time is None:
            continue
        yield frame
        count += 1
        if count >= MAX_DECODED_FRAMES or frame.time > POSTER_SEARCH_SECONDS:
            return


def _find_poster(frames: Any) -> tuple[Image.Image, int] | None:
    """The first frame at or after POSTER_AT_SECONDS (else the last one seen), upright."""
    start: float | None = None
    last: Any = None
    for frame in frames:
        start = frame.time if start is None else start
        last = frame
        if frame.time - start >= POSTER_AT_SECONDS:
            break
    if last is None:
        return None
    return _upright(last), int(getattr(last, "rotation", 0) or 0) % 360
