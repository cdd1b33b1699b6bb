"""A witness reports in Russian in a real browser: JavaScript on (tus) and off (plain POST)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from incidents.models import Role
from tests.fixtures.media import SAMPLES, video
from tests.helpers import PASSPHRASE, gen_token, gen_user
from tests.submissions.helpers import gen_metadata, post_submission

pytestmark = pytest.mark.browser

TESTIMONY = ("Пятого января на площади Республики силовики стреляли в безоружных людей. "
             "Я снимал это на телефон из окна.")


@pytest.fixture
def media(tmp_path: Path) -> list[Path]:
    """A camera photo with GPS and a video made by a real encoder (names in Russian)."""
    photo = tmp_path / "площадь.jpg"
    photo.write_bytes((SAMPLES / "jpg_gps_DSCN0010.jpg").read_bytes())
    clip = tmp_path / "видео.mp4"
    clip.write_bytes(video("mp4", seconds=1.0))
    return [photo, clip]


def _sign_in(page, server: str, pseudonym: str) -> None:  # noqa: ANN001
    page.goto(f"{server}/login")
    page.fill("#pseudonym", pseudonym)
    page.fill("#passphrase", PASSPHRASE)
    page.click("main button[type=submit]")
    assert page.url == f"{server}/account/"


def _step(page, step: str) -> None:  # noqa: ANN001
    """Open a step of the form (with JavaScript one shows at a time; without, it scrolls)."""
    page.click(f".steps-progress a[href='#{step}']")


def _fill_report(page) -> None:  # noqa: ANN001
    _step(page, "step-what")
    page.fill("#testimony", TESTIMONY)
    _step(page, "step-when")
    page.fill("#date", "2022-01-05")
    page.check("input[name=time_precision][value=approximate]")
    page.select_option("#place", "almaty")
    _step(page, "step-kind")
    page.check("input[name=categories][value=excessive_force]")
    _step(page, "step-consent")
    for key in ("legal", "research", "publication", "contact"):
        page.check(f"input[name=consent_{key}][value={'yes' if key != 'contact' else 'no'}]")


def _choose_files(page, files) -> None:  # noqa: ANN001
    _step(page, "step-files")
    page.set_input_files("#files", files)


def _send(page) -> None:  # noqa: ANN001
    _step(page, "step-send")
    with page.expect_navigation():
        page.click("#report-form button[type=submit]")


def _watch(page, server: str) -> tuple[list[str], list[str]]:  # noqa: ANN001
    """Requests to other origins, and CSP violations or failed responses."""
    foreign: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(server) else None)
    page.on("console", lambda m: problems.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return foreign, problems


def _assert_receipt(page, server: str, media: list[Path]) -> None:  # noqa: ANN001
    assert "/submissions/" in page.url
    page.click("a[href$='/receipt']")
    receipt = page.content()
    for path in media:
        assert hashlib.sha256(path.read_bytes()).hexdigest() in receipt
    assert page.locator("html").get_attribute("lang") == "ru"


def test_with_javascript_a_russian_report_uploads_photo_and_video_by_tus(
        chromium, live_server, media):
    gen_user(Role.CONTRIBUTOR, pseudonym="Степной лис")
    context = chromium.new_context(locale="ru-RU")
    page = context.new_page()
    foreign, problems = _watch(page, live_server)
    tus_calls: list[str] = []
    page.on("request", lambda r: tus_calls.append(r.method)
            if "/api/v1/uploads/" in r.url else None)
    try:
        _sign_in(page, live_server, "Степной лис")
        page.goto(f"{live_server}/submit")
        assert page.locator("html").get_attribute("lang") == "ru"
        _fill_report(page)
        _choose_files(page, [str(p) for p in media])
        bars = page.locator("ul.uploads progress")
        assert bars.count() == 2
        page.wait_for_function(
            "() => [...document.querySelectorAll('ul.uploads progress')]"
            ".every(p => p.value === 100)", timeout=30_000)
        stored = page.evaluate("() => Object.entries(localStorage)")
        assert len(stored) == 2
        assert all(value.startswith(live_server + "/api/v1/uploads/") for _k, value in stored)
        # Bytes and percentage beside each bar, not a bare sliver.
        assert "(100%)" in page.locator("ul.uploads").inner_text()
        _send(page)
        _assert_receipt(page, live_server, media)
        assert page.evaluate("() => localStorage.length") == 0
    finally:
        context.close()
    assert "POST" in tus_calls
    assert "PATCH" in tus_calls
    assert foreign == []
    assert problems == []


def test_without_javascript_a_russian_report_posts_photo_and_video_plainly(
        chromium, live_server, media):
    gen_user(Role.CONTRIBUTOR, pseudonym="Тихий ветер")
    context = chromium.new_context(locale="ru-RU", java_script_enabled=False)
    page = context.new_page()
    foreign, problems = _watch(page, live_server)
    tus_calls: list[str] = []
    page.on("request", lambda r: tus_calls.append(r.url) if "/api/v1/uploads" in r.url else None)
    try:
        _sign_in(page, live_server, "Тихий ветер")
        page.goto(f"{live_server}/submit")
        _fill_report(page)
        _choose_files(page, [str(p) for p in media])
        _send(page)
        _assert_receipt(page, live_server, media)
    finally:
        context.close()
    assert tus_calls == []
    assert foreign == []
    assert problems == []


def test_after_a_reload_the_same_file_continues_its_upload(chromium, live_server, tmp_path):
    gen_user(Role.CONTRIBUTOR, pseudonym="Упорный")
    big = tmp_path / "long.mp4"
    big.write_bytes(video("mp4", seconds=1.0) + bytes(6 * 1024 * 1024))
    context = chromium.new_context(locale="ru-RU")
    page = context.new_page()
    creations: list[str] = []
    page.on("request", lambda r: creations.append(r.url)
            if r.method == "POST" and r.url.rstrip("/").endswith("/api/v1/uploads") else None)
    try:
        _sign_in(page, live_server, "Упорный")
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1,
            "uploadThroughput": 512 * 1024})
        page.goto(f"{live_server}/submit")
        _choose_files(page, str(big))
        page.wait_for_function(
            "() => { const p = document.querySelector('ul.uploads progress');"
            " return p && p.value >= 5; }", timeout=30_000)
        page.click("ul.uploads button")  # pause: the server keeps what arrived
        page.reload()
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        _choose_files(page, str(big))
        page.wait_for_function(
            "() => document.querySelector('ul.uploads progress').value === 100",
            timeout=30_000)
    finally:
        context.close()
    assert len(creations) == 1  # the second selection resumed the first upload


def _report_of(live_app, pseudonym: str) -> str:  # noqa: ANN001
    """A report already sent (through the API) by the witness `pseudonym`."""
    token = gen_token(gen_user(Role.CONTRIBUTOR, pseudonym=pseudonym))
    response = post_submission(live_app.test_client(), token, gen_metadata())
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


@pytest.mark.parametrize("javascript", [True, False], ids=["tus", "plain"])
def test_adding_files_to_a_sent_report_uses_resumable_uploads_and_a_russian_button(
        chromium, live_app, live_server, media, javascript):
    report = _report_of(live_app, "Дополняющий")
    context = chromium.new_context(locale="ru-RU", java_script_enabled=javascript)
    page = context.new_page()
    foreign, problems = _watch(page, live_server)
    tus_calls: list[str] = []
    page.on("request", lambda r: tus_calls.append(r.method)
            if "/api/v1/uploads" in r.url else None)
    try:
        _sign_in(page, live_server, "Дополняющий")
        page.goto(f"{live_server}/submissions/{report}")
        picker = page.locator("label.file-picker[for=more-files]")
        # With JavaScript our Russian button stands in for the browser's English one.
        assert picker.is_visible() is javascript
        if javascript:
            assert picker.inner_text() == "Выбрать файлы"
        page.set_input_files("#more-files", [str(p) for p in media])
        if javascript:
            page.wait_for_function(
                "() => [...document.querySelectorAll('#add-files ul.uploads .upload-status')]"
                ".filter(s => s.textContent.includes('Загружено')).length === 2",
                timeout=30_000)
            assert page.locator("#add-files .files-chosen").inner_text() == "Выбрано файлов: 2"
            progress = page.locator("#add-files ul.uploads").inner_text()
            assert "(100%)" in progress
            assert "КБ из" in progress  # sizes in the page's language, as the server writes them
            # A finished file has nothing to pause.
            assert page.locator("#add-files ul.uploads button").first.is_hidden()
        with page.expect_navigation():
            page.click("#add-files button[type=submit]")
        assert page.url.endswith(f"/submissions/{report}")
        assert "Ваши файлы добавлены" in page.locator("main").inner_text()
        listed = page.locator("ul.items").inner_text()
        assert all(p.name in listed for p in media)
        _assert_receipt(page, live_server, media)
    finally:
        context.close()
    assert ("PATCH" in tus_calls) is javascript
    assert foreign == []
    assert problems == []
