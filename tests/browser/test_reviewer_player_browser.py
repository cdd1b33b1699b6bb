"""A reviewer in Chromium: watches a phone video with sound and seeks, listens to a voice
recording, sees the current status and assessment, and changes nothing by accident."""

from __future__ import annotations

import pytest

from tests.browser.world import build, signed_in

pytestmark = pytest.mark.browser


@pytest.fixture
def world(live_app, live_server):
    return build(live_app, live_server)


def _watch(page, server: str) -> tuple[list[str], list[int]]:  # noqa: ANN001
    problems: list[str] = []
    statuses: list[int] = []
    page.on("console", lambda m: problems.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("response", lambda r: statuses.append(r.status)
            if "/preview/video_preview" in r.url else None)
    return problems, statuses


def test_a_reviewer_plays_the_video_with_sound_and_seeks_in_it(chromium, live_app, world):
    context = signed_in(chromium, live_app, world, "reviewer")
    page = context.new_page()
    csp, statuses = _watch(page, world.server)
    try:
        page.goto(f"{world.server}/review/submissions/{world.submissions['video']}")
        video = page.locator("video.player")
        assert video.count() == 1
        page.wait_for_function("() => document.querySelector('video.player').readyState >= 1",
                               timeout=20_000)
        duration = page.evaluate("() => document.querySelector('video.player').duration")
        assert 3.5 < duration < 4.5  # the whole 4-second clip, not a 10-second excerpt
        page.evaluate("""() => new Promise((done, fail) => {
            const v = document.querySelector('video.player');
            v.muted = true;
            v.addEventListener('seeked', () => done(), {once: true});
            v.addEventListener('error', () => fail(v.error && v.error.message), {once: true});
            v.currentTime = 3.0;
        })""")
        assert page.evaluate("() => document.querySelector('video.player').currentTime") >= 2.9
        page.evaluate("() => document.querySelector('video.player').play()")
        page.wait_for_function(
            "() => document.querySelector('video.player').currentTime > 3.1", timeout=10_000)
        # The clip carries a sound track: Chromium decoded audio bytes from it.
        page.wait_for_function("() => document.querySelector('video.player')"
                               ".webkitAudioDecodedByteCount > 0", timeout=10_000)
    finally:
        context.close()
    assert 206 in statuses  # the player asked for byte ranges and got them
    assert csp == []


def test_a_reviewer_listens_to_a_voice_recording(chromium, live_app, world):
    context = signed_in(chromium, live_app, world, "reviewer")
    page = context.new_page()
    csp, _statuses = _watch(page, world.server)
    try:
        page.goto(f"{world.server}/review/submissions/{world.submissions['audio']}")
        page.wait_for_function("() => document.querySelector('audio.player').readyState >= 1",
                               timeout=20_000)
        assert page.evaluate("() => document.querySelector('audio.player').duration") > 2.5
    finally:
        context.close()
    assert csp == []


def test_the_status_shown_is_the_current_one_and_an_untouched_form_changes_nothing(
        chromium, live_app, world):
    context = signed_in(chromium, live_app, world, "reviewer", locale="en-GB")
    page = context.new_page()
    try:
        url = f"{world.server}/review/submissions/{world.submissions['video']}"
        page.goto(url)
        page.select_option("#status-select", "accepted")
        page.click("form[action$='/status'] button")
        assert page.locator("#status-select").input_value() == "accepted"
        # Pressing "Set status" again without touching the select keeps it accepted.
        page.click("form[action$='/status'] button")
        assert page.locator("#status-select").input_value() == "accepted"
        assert "Accepted" in page.locator("dl").first.inner_text()
    finally:
        context.close()


def test_the_assessment_form_starts_empty_then_shows_the_current_grade(
        chromium, live_app, world):
    context = signed_in(chromium, live_app, world, "reviewer", locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{world.server}/review/submissions/{world.submissions['video']}")
        form = page.locator("form.assessment").first
        reliability = form.locator("select[name=reliability]")
        assert reliability.input_value() == ""  # no silent "A"
        form.locator("button").click()  # the browser refuses: a grade must be chosen
        assert page.evaluate("() => document.querySelector('form.assessment select')"
                             ".validity.valueMissing")
        reliability.select_option("B")
        form.locator("select[name=credibility]").select_option("2")
        form.locator("input[name=reason]").fill("Matches two other accounts.")
        form.locator("button").click()
        page.wait_for_load_state()
        form = page.locator("form.assessment").first
        assert form.locator("select[name=reliability]").input_value() == "B"
        assert form.locator("select[name=credibility]").input_value() == "2"
        assert "B2" in page.content()
    finally:
        context.close()


def test_long_testimony_wraps_inside_a_phone_screen(chromium, live_app, world):
    context = signed_in(chromium, live_app, world, "reviewer", width=390, height=844)
    page = context.new_page()
    try:
        page.goto(f"{world.server}/review/submissions/{world.submissions['video']}")
        box = page.locator("blockquote.testimony").bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 390
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        context.close()

