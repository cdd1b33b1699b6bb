"""Video and audio: container metadata read; poster and preview re-encoded without it."""

from __future__ import annotations

import io

import av
import pytest
from PIL import Image

from incidents.services.media import video
from incidents.services.media.av_meta import parse_iso6709, probe
from incidents.services.media.results import MediaFlagged
from tests.fixtures import media

# Tags the MP4 demuxer reports from the `ftyp` box itself: structure, not metadata.
STRUCTURAL_TAGS = {"major_brand", "minor_version", "compatible_brands"}


@pytest.mark.parametrize("fmt", ["mp4", "mov"])
def test_location_and_creation_time_come_out_of_mp4_and_mov(fmt: str) -> None:
    found = probe(io.BytesIO(media.video(fmt)))
    assert found["location"] == {"lat": 43.2381, "lon": 76.9452, "alt": 850.0}
    assert found["created_at"].startswith("2022-01-05T14:30:00")
    assert 1.9 <= found["duration"] <= 2.2
    assert [s["codec"] for s in found["streams"]] == ["h264", "aac"]


def test_device_make_and_model_come_out_of_a_mov() -> None:
    found = probe(io.BytesIO(media.video("mov")))
    assert (found["make"], found["model"]) == (media.DEVICE_MAKE, media.DEVICE_MODEL)


@pytest.mark.parametrize(("text", "point"), [
    ("+43.2381+076.9452+850.000/", {"lat": 43.2381, "lon": 76.9452, "alt": 850.0}),
    ("-33.8568+151.2153/", {"lat": -33.8568, "lon": 151.2153, "alt": None}),
    ("+4314.286+07656.712/", {"lat": 43.2381, "lon": 76.9452, "alt": None}),
    ("+431417.16+0765642.72/", {"lat": 43.2381, "lon": 76.9452, "alt": None}),
])
def test_iso_6709_points_in_every_precision_are_parsed(text: str, point: dict) -> None:
    assert parse_iso6709(text) == point


def test_audio_metadata_is_read_and_a_playable_aac_copy_is_made() -> None:
    outcome = video.analyse(io.BytesIO(media.audio("ipod", seconds=2)), want_video=False)
    assert outcome.metadata["streams"][0]["codec"] == "aac"
    [playable] = outcome.derivatives
    assert (playable.kind, playable.mime) == ("video_preview", "audio/mp4")
    with av.open(io.BytesIO(playable.data)) as container:
        assert [(s.type, s.codec_context.name) for s in container.streams] == [("audio", "aac")]
        assert container.duration / av.time_base > 1.9


def test_video_poster_and_playable_copy_carry_no_location_or_device_tags() -> None:
    outcome = video.analyse(io.BytesIO(media.video("mov", seconds=3)), want_video=True)
    kinds = {d.kind: d for d in outcome.derivatives}
    assert set(kinds) == {"poster", "thumbnail", "video_preview"}
    assert outcome.phash is not None
    clip = kinds["video_preview"].data
    with av.open(io.BytesIO(clip)) as container:
        assert set(container.metadata) <= STRUCTURAL_TAGS
        assert not any(s.metadata.get("creation_time") for s in container.streams)
        assert [(s.type, s.codec_context.name) for s in container.streams] == [
            ("video", "h264"), ("audio", "aac")]
        assert container.duration / av.time_base > 2.9  # the whole clip, with its sound
    assert b"+43.2381" not in clip
    assert media.DEVICE_MAKE.encode() not in clip
    assert not Image.open(io.BytesIO(kinds["poster"].data)).getexif()


def test_the_poster_of_a_video_recorded_sideways_is_upright() -> None:
    outcome = video.analyse(io.BytesIO(media.video("mp4", size=(320, 240), rotation=90)),
                            want_video=True)
    poster = next(d for d in outcome.derivatives if d.kind == "poster")
    clip = next(d for d in outcome.derivatives if d.kind == "video_preview")
    assert (poster.width, poster.height) == (240, 320)
    assert clip.height > clip.width


def test_webm_gets_a_poster_and_an_h264_aac_playable_copy() -> None:
    outcome = video.analyse(io.BytesIO(media.video("webm")), want_video=True)
    kinds = {d.kind: d for d in outcome.derivatives}
    assert set(kinds) == {"poster", "thumbnail", "video_preview"}
    with av.open(io.BytesIO(kinds["video_preview"].data)) as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]


def test_a_silent_video_gets_a_playable_copy_without_sound() -> None:
    outcome = video.analyse(io.BytesIO(media.video("mp4", with_audio=False)), want_video=True)
    clip = next(d for d in outcome.derivatives if d.kind == "video_preview")
    with av.open(io.BytesIO(clip.data)) as container:
        assert [s.type for s in container.streams] == ["video"]


def test_a_truncated_video_is_flagged_not_raised() -> None:
    data = media.truncated(media.video("mp4", seconds=2), 0.4)
    # The `moov` box sits at the end, so the truncated file cannot be demuxed at all.
    with pytest.raises(MediaFlagged) as caught:
        video.analyse(io.BytesIO(data), want_video=True)
    assert caught.value.flag == "corrupt"
