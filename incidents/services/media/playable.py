"""The playable copy of a video or audio file: H.264/AAC in a fresh MP4 that any browser plays.

Reviewers watch evidence in the page (issue 13): a `<video>`/`<audio>` element seeking through
ranged responses. Originals come in whatever a phone wrote (HEVC, AMR, Opus in Ogg, MPEG-4
part 2); this copy is re-encoded from decoded pixels and samples, frame by frame, so it carries
no container or stream tags (no location, creation time or device; `+bitexact` drops even the
encoder tag). Decoding streams packet by packet: memory is one frame plus the output, and the
output is capped by PLAYABLE_SECONDS (the original stays downloadable for anything longer).
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import IO, Any

import av
import av.error

from incidents.services.media.av_meta import open_container
from incidents.services.media.results import Derivative, MediaFlagged

PLAYABLE_LONG_SIDE = 640
PLAYABLE_SECONDS = 600.0
PLAYABLE_FPS = 25
AUDIO_RATE = 48000
AUDIO_BITRATE = 96_000
FRAME_TIME_BASE = Fraction(1, PLAYABLE_FPS)


def make_playable(fp: IO[bytes], *, with_video: bool, rotation: int = 0) -> Derivative | None:
    """Re-encode the first video and audio streams; None when there is nothing to play.

    ``rotation`` is the display-matrix angle of the video's frames (phones record sideways):
    every output stream must exist before the first packet is written, so it is known first.
    """
    try:
        return _transcode(fp, with_video=with_video, rotation=rotation % 360)
    except MediaFlagged:
        raise
    except (av.error.FFmpegError, ValueError, OSError, MemoryError) as e:
        raise MediaFlagged("corrupt", "media cannot be decoded for playback") from e


def _transcode(fp: IO[bytes], *, with_video: bool, rotation: int) -> Derivative | None:
    with open_container(fp) as source:
        video_in = source.streams.video[0] if with_video and source.streams.video else None
        if video_in is not None and video_in.codec_context is None:
            video_in = None
        audio_in = source.streams.audio[0] if source.streams.audio else None
        if audio_in is not None and audio_in.codec_context is None:
            audio_in = None
        if video_in is None and audio_in is None:
            return None
        out = io.BytesIO()
        with av.open(out, "w", format="mp4", options={"fflags": "+bitexact"}) as sink:
            sink.metadata.clear()
            video = _VideoTrack(sink, video_in, rotation) if video_in is not None else None
            audio = _AudioTrack(sink) if audio_in is not None else None
            wanted = [s for s in (video_in, audio_in) if s is not None]
            for packet in source.demux(*wanted):
                if _past_the_end(packet):
                    break
                for frame in _decode(packet):
                    if frame.time is None or frame.time > PLAYABLE_SECONDS:
                        continue
                    if video is not None and packet.stream is video_in:
                        video.add(frame)
                    elif audio is not None:
                        audio.add(frame)
            width = height = 0
            if video is not None:
                video.flush()
                width, height = video.width, video.height
            if audio is not None:
                audio.flush()
    data = out.getvalue()
    if not data or (video is not None and video.count == 0 and (audio is None or not audio.count)):
        return None
    mime = "video/mp4" if video is not None and video.count else "audio/mp4"
    method = (f"playable-mp4-h264-aac-{PLAYABLE_LONG_SIDE}-{int(PLAYABLE_SECONDS)}s "
              f"PyAV {av.__version__}")
    return Derivative("video_preview", data, mime, method, width, height)


def _past_the_end(packet: Any) -> bool:
    return packet.pts is not None and packet.time_base is not None and \
        float(packet.pts * packet.time_base) > PLAYABLE_SECONDS + 1


def _decode(packet: Any) -> list[Any]:
    try:
        return list(packet.decode())
    except av.error.InvalidDataError:
        return []  # one damaged packet: skip it as a player would


class _VideoTrack:
    """Frames scaled to PLAYABLE_LONG_SIDE, turned upright, at most PLAYABLE_FPS."""

    def __init__(self, sink: Any, source: Any, rotation: int) -> None:
        ctx = source.codec_context
        width, height = ctx.width or 2, ctx.height or 2
        self.rotation = rotation
        self.sink = sink
        scale = min(1.0, PLAYABLE_LONG_SIDE / max(width, height))
        self.width = max(2, int(width * scale) // 2 * 2)
        self.height = max(2, int(height * scale) // 2 * 2)
        if rotation in (90, 270):
            self.width, self.height = self.height, self.width
        self.start: float | None = None
        self.last_pts = -1
        self.count = 0
        stream = sink.add_stream("libx264", rate=PLAYABLE_FPS)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.time_base = FRAME_TIME_BASE
        # Main profile plays everywhere; a keyframe each second so a seek lands where asked.
        stream.options = {"crf": "28", "preset": "veryfast", "flags": "+bitexact",
                          "g": str(PLAYABLE_FPS), "profile": "main"}
        self.stream = stream

    def add(self, frame: Any) -> None:
        self.start = frame.time if self.start is None else self.start
        pts = round((frame.time - self.start) * PLAYABLE_FPS)
        if pts <= self.last_pts:
            return  # more frames a second than we keep
        self.last_pts = pts
        if self.rotation:
            # The display matrix angle is counter-clockwise; PIL's rotate is too.
            picture = frame.to_image().rotate(self.rotation, expand=True)
            picture = picture.resize((self.width, self.height))
            scaled = av.VideoFrame.from_image(picture).reformat(format="yuv420p")
        else:
            scaled = frame.reformat(width=self.width, height=self.height, format="yuv420p")
        scaled.pts = pts
        scaled.time_base = FRAME_TIME_BASE  # not the stream's: the muxer changes that
        for packet in self.stream.encode(scaled):
            self.sink.mux(packet)
        self.count += 1

    def flush(self) -> None:
        for packet in self.stream.encode():
            self.sink.mux(packet)


class _AudioTrack:
    """Samples resampled to 48 kHz stereo and encoded as AAC."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.stream = sink.add_stream("aac", rate=AUDIO_RATE)
        self.stream.bit_rate = AUDIO_BITRATE
        self.stream.layout = "stereo"
        self.resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        self.count = 0

    def add(self, frame: Any) -> None:
        frame.pts = None  # the encoder numbers samples from zero
        for resampled in self.resampler.resample(frame):
            for packet in self.stream.encode(resampled):
                self.sink.mux(packet)
        self.count += 1

    def flush(self) -> None:
        for resampled in self.resampler.resample(None):
            for packet in self.stream.encode(resampled):
                self.sink.mux(packet)
        for packet in self.stream.encode():
            self.sink.mux(packet)
