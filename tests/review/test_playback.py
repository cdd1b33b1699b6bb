"""Reviewers watch video and listen to audio in the page: a playable copy served in ranges."""

from __future__ import annotations

import io

import av
import pytest

from incidents.services.media.process import process_item
from incidents.web.db import get_session
from tests.fixtures import media
from tests.helpers import login
from tests.review.fixtures import items_of
from tests.submissions.helpers import fresh_g, gen_metadata, post_submission


@pytest.fixture
def video_item(app, client, witness, reviewer, queued):
    """A witness's phone video (H.264/AAC by FFmpeg, with location tags), processed."""
    response = post_submission(client, witness.token, gen_metadata(),
                               [(media.video("mov", seconds=3), "clip.mov", "video/quicktime")])
    assert response.status_code == 201, response.get_data(as_text=True)
    for item_id in list(queued):
        process_item(get_session(), app.extensions["blobstore"], item_id)
    queued.clear()
    sid = response.get_json()["id"]
    item = next(i for i in items_of(client, reviewer.token, sid) if i["kind"] == "file")["id"]
    fresh_g()
    login(client, reviewer.user)
    fresh_g()
    return sid, item


def test_the_whole_playable_copy_has_sound_and_no_location(client, video_item):
    _sid, item = video_item
    response = client.get(f"/review/items/{item}/preview/video_preview")
    assert response.status_code == 200
    assert response.headers["Accept-Ranges"] == "bytes"
    data = response.get_data()
    assert int(response.headers["Content-Length"]) == len(data)
    with av.open(io.BytesIO(data)) as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]
        assert container.duration / av.time_base > 2.9
    assert b"+43.2381" not in data


def test_a_byte_range_is_answered_206_with_exactly_those_bytes(client, video_item):
    _sid, item = video_item
    whole = client.get(f"/review/items/{item}/preview/video_preview").get_data()
    fresh_g()
    response = client.get(f"/review/items/{item}/preview/video_preview",
                          headers={"Range": "bytes=1000-1999"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(whole)}"
    assert response.get_data() == whole[1000:2000]
    fresh_g()
    tail = client.get(f"/review/items/{item}/preview/video_preview",
                      headers={"Range": "bytes=-100"})
    assert tail.status_code == 206
    assert tail.get_data() == whole[-100:]


def test_a_range_past_the_end_is_416_naming_the_size(client, video_item):
    _sid, item = video_item
    response = client.get(f"/review/items/{item}/preview/video_preview",
                          headers={"Range": "bytes=99999999-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"].startswith("bytes */")


def test_the_playable_copy_may_play_on_its_own_and_run_nothing(client, video_item):
    _sid, item = video_item
    policy = client.get(f"/review/items/{item}/preview/video_preview"
                        ).headers["Content-Security-Policy"]
    assert "media-src 'self'" in policy
    assert "sandbox" in policy
    assert "script-src" not in policy


def test_the_submission_page_has_an_inline_player_with_the_poster(client, video_item):
    sid, item = video_item
    page = client.get(f"/review/submissions/{sid}").get_data(as_text=True)
    assert f'src="/review/items/{item}/preview/video_preview" type="video/mp4"' in page
    assert f'poster="/review/items/{item}/preview/poster"' in page
    assert "<video" in page
    assert "controls" in page


def test_a_voice_recording_gets_an_audio_player(app, client, witness, reviewer, queued):
    response = post_submission(client, witness.token, gen_metadata(),
                               [(media.audio("ipod", seconds=2), "voice.m4a", "audio/mp4")])
    for item_id in list(queued):
        process_item(get_session(), app.extensions["blobstore"], item_id)
    sid = response.get_json()["id"]
    item = next(i for i in items_of(client, reviewer.token, sid) if i["kind"] == "file")["id"]
    fresh_g()
    login(client, reviewer.user)
    fresh_g()
    page = client.get(f"/review/submissions/{sid}").get_data(as_text=True)
    assert f'src="/review/items/{item}/preview/video_preview" type="audio/mp4"' in page
    assert "<audio" in page
