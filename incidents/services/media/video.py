"""Video and audio: container metadata, an upright poster frame and a small preview clip.

The preview is re-encoded from decoded pixels with PyAV into a fresh MP4 that carries no
container or stream tags (no location, creation time, device; `+bitexact` drops the encoder
tag) and no audio. The poster goes through the same pixels-only JPEG path as photo previews.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from fractions import Fraction
from typing import IO, Any

import av
import av.error
from PIL import Image

from incidents.services.media.av_meta import describe, open_container
from incidents.services.media.phash_image import phash
from incidents.services.media.previews import check_pixels, still_derivatives
from incidents.services.media.results import Derivative, MediaFlagged

PREVIEW_LONG_SIDE = 480
PREVIEW_SECONDS = 10.0
PREVIEW_FPS = 15
POSTER_AT_SECONDS = 1.0
# Decode at most this many frames looking for the poster or filling the preview.
MAX_DECODED_FRAMES = 2000
_ENCODERS = ("libx264", "mpeg4")


@dataclass
class AvOutcome:
    metadata: dict[str, Any]
    flags: list[tuple[str, str]] = field(default_factory=list)
    derivatives: list[Derivative] = field(default_factory=list)
    phash: int | None = None


def analyse(fp: IO[bytes], *, want_video: bool) -> AvOutcome:
    """Probe the container; for video, make the poster, thumbnail and preview clip."""
    with open_container(fp) as container:
        outcome = AvOutcome(describe(container))
        streams = container.streams.video
        if not streams:
            return outcome
        stream = streams[0]
        if stream.codec_context is None:
            outcome.flags.append(("unsupported", "no decoder for the video codec"))
            return outcome
        if not want_video and stream.disposition & av.stream.Disposition.attached_pic:
            return outcome  # cover art in an audio file
        check_pixels(stream.codec_context.width or 1, stream.codec_context.height or 1)
        try:
            frames = _decode_frames(container, stream)
            poster, clip = _poster_and_clip(frames)
        except MediaFlagged:
            raise
        except (av.error.FFmpegError, ValueError, OSError, MemoryError) as e:
            outcome.flags.append(("corrupt", "video frames cannot be decoded"))
            if isinstance(e, av.error.DecoderNotFoundError):
                outcome.flags[-1] = ("unsupported", "no decoder for the video codec")
            return outcome
        if poster is None:
            outcome.flags.append(("corrupt", "no video frame could be decoded"))
            return outcome
        outcome.derivatives.extend(still_derivatives(poster, preview_kind="poster"))
        outcome.phash = phash(poster)
        if clip:
            outcome.derivatives.append(_encode_preview(clip))
    return outcome


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
        if count >= MAX_DECODED_FRAMES or frame.time > PREVIEW_SECONDS:
            return


def _poster_and_clip(frames: Any) -> tuple[Image.Image | None, list[Image.Image]]:
    """The poster (first frame at or after POSTER_AT_SECONDS, else the last one seen) and
    a downscaled frame list for the preview clip, at most PREVIEW_FPS per second."""
    poster: Image.Image | None = None
    clip: list[Image.Image] = []
    next_time = 0.0
    start: float | None = None
    last: Any = None
    for frame in frames:
        start = frame.time if start is None else start
        last = frame
        t = frame.time - start
        if poster is None and t >= POSTER_AT_SECONDS:
            poster = _upright(frame)
        if t + 1e-6 >= next_time and t <= PREVIEW_SECONDS:
            small = _upright(frame)
            small.thumbnail((PREVIEW_LONG_SIDE, PREVIEW_LONG_SIDE))
            clip.append(small)
            next_time += 1.0 / PREVIEW_FPS
    if poster is None and last is not None:
        poster = _upright(last)
    return poster, clip


def _encoder() -> str:
    for name in _ENCODERS:
        if name in av.codecs_available:
            return name
    raise MediaFlagged("unsupported", "no video encoder available for previews")


def _encode_preview(clip: list[Image.Image]) -> Derivative:
    width = max(2, clip[0].width // 2 * 2)
    height = max(2, clip[0].height // 2 * 2)
    codec = _encoder()
    out = io.BytesIO()
    with av.open(out, "w", format="mp4",
                 options={"fflags": "+bitexact"}) as container:
        container.metadata.clear()
        stream = container.add_stream(codec, rate=PREVIEW_FPS,
                                      options={"flags": "+bitexact"})
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, PREVIEW_FPS)
        if codec == "libx264":
            stream.options = {"crf": "30", "preset": "veryfast", "flags": "+bitexact"}
        for index, picture in enumerate(clip):
            if picture.size != (width, height):
                picture = picture.resize((width, height))
            frame = av.VideoFrame.from_image(picture.convert("RGB"))
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    method = f"video_preview-mp4-{PREVIEW_LONG_SIDE}-{int(PREVIEW_SECONDS)}s-noaudio " \
             f"PyAV {av.__version__} {codec}"
    return Derivative("video_preview", out.getvalue(), "video/mp4", method, width, height)
