"""The witness only waits: uploads continue after a reload, a server restart, a lost network.

Real Chromium (Debian's, through Playwright), the real upload JavaScript, and for the
restart a real gunicorn process SIGKILLed and started again on the same port.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from incidents.models import Role, Upload, UploadState
from incidents.web.db import get_session
from storage.blobstore import BlobRef, BlobStore
from tests.conftest import POSTGRES_URL, REDIS_URL
from tests.helpers import PASSPHRASE, gen_user
from tests.servers import Gunicorn

pytestmark = pytest.mark.browser

MiB = 1024 * 1024
# Finished means the server said so (the bar alone reaches 100% when the bytes are sent).
DONE = "() => { const s = document.querySelector('ul.uploads .upload-status');" \
       " return s && s.textContent.includes('Загружено'); }"


def _at_least(percent: int) -> str:
    return ("() => { const p = document.querySelector('ul.uploads progress');"
            f" return p && p.value >= {percent}; }}")


def _sign_in(page, server: str, pseudonym: str) -> None:  # noqa: ANN001
    page.goto(f"{server}/login")
    page.fill("#pseudonym", pseudonym)
    page.fill("#passphrase", PASSPHRASE)
    page.click("main button[type=submit]")
    assert page.url == f"{server}/account/"


def _throttle(context, page, bytes_per_second: int, *, offline: bool = False):  # noqa: ANN001, ANN202
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": offline, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": bytes_per_second})
    return cdp


def _status(page) -> str:  # noqa: ANN001
    return page.locator("ul.uploads .upload-status").first.inner_text()


def _stored(store: BlobStore) -> bytes:
    session = get_session()
    session.expire_all()
    upload = session.scalars(select(Upload)).one()
    assert upload.state is UploadState.FINISHED
    ref = BlobRef(blob_id=upload.blob_id, key_id=upload.key_id, sealed_key=upload.sealed_key)
    with store.open(ref) as reader:
        return reader.read()


def _creations(page) -> list[str]:  # noqa: ANN001
    made: list[str] = []
    page.on("request", lambda r: made.append(r.url)
            if r.method == "POST" and r.url.rstrip("/").endswith("/api/v1/uploads") else None)
    return made


def test_after_a_reload_the_upload_continues_without_choosing_the_file_again(
        chromium, live_server, tmp_path: Path, store: BlobStore) -> None:
    gen_user(Role.CONTRIBUTOR, pseudonym="Терпеливый")
    big = tmp_path / "long.mp4"
    big.write_bytes(bytes(range(256)) * (24 * 1024))  # 6 MiB
    context = chromium.new_context(locale="ru-RU")
    page = context.new_page()
    creations = _creations(page)
    try:
        _sign_in(page, live_server, "Терпеливый")
        cdp = _throttle(context, page, 512 * 1024)
        page.goto(f"{live_server}/submit")
        page.set_input_files("#files", str(big))
        page.wait_for_function(_at_least(10), timeout=30_000)
        page.reload()  # the witness's browser reloads mid-upload; nothing is chosen again
        page.wait_for_selector("ul.uploads progress", timeout=10_000)
        assert "Продолжаем" in _status(page)  # it says that it is continuing
        # Still slow until the page has said so: unthrottled, the rest could finish before
        # the status is read (a race CI lost on a busy machine).
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        page.wait_for_function(DONE, timeout=60_000)
    finally:
        context.close()
    assert len(creations) == 1  # the same upload continued, not a new one
    assert hashlib.sha256(_stored(store)).digest() == hashlib.sha256(big.read_bytes()).digest()


def test_when_the_server_is_killed_and_restarted_the_upload_continues_by_itself(
        chromium, settings, tmp_path: Path, store: BlobStore) -> None:
    gen_user(Role.CONTRIBUTOR, pseudonym="Стойкий")
    big = tmp_path / "long.mp4"
    big.write_bytes(bytes(range(256)) * (32 * 1024))  # 8 MiB
    server = Gunicorn(settings, POSTGRES_URL, REDIS_URL)
    context = chromium.new_context(locale="ru-RU")
    page = context.new_page()
    creations = _creations(page)
    try:
        _sign_in(page, server.url, "Стойкий")
        _throttle(context, page, 1 * MiB)
        page.goto(f"{server.url}/submit")
        page.set_input_files("#files", str(big))
        page.wait_for_function(_at_least(20), timeout=30_000)
        server.kill()  # a deploy, or a crash: no clean shutdown
        time.sleep(1)
        server = Gunicorn(settings, POSTGRES_URL, REDIS_URL, port=server.port)
        page.wait_for_function(DONE, timeout=90_000)
        assert "Загружено" in _status(page)
    finally:
        context.close()
        server.kill()
    assert len(creations) == 1
    assert hashlib.sha256(_stored(store)).digest() == hashlib.sha256(big.read_bytes()).digest()


def test_after_the_network_drops_and_returns_the_upload_continues_and_says_so(
        chromium, live_server, tmp_path: Path, store: BlobStore) -> None:
    gen_user(Role.CONTRIBUTOR, pseudonym="Упрямый")
    big = tmp_path / "long.mp4"
    big.write_bytes(bytes(range(256)) * (24 * 1024))  # 6 MiB
    context = chromium.new_context(locale="ru-RU")
    page = context.new_page()
    try:
        _sign_in(page, live_server, "Упрямый")
        cdp = _throttle(context, page, 512 * 1024)
        page.goto(f"{live_server}/submit")
        page.set_input_files("#files", str(big))
        page.wait_for_function(_at_least(10), timeout=30_000)
        cdp.send("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        context.set_offline(True)
        page.wait_for_function("() => document.querySelector('.upload-status')"
                               ".textContent.includes('Связь прервалась')", timeout=30_000)
        context.set_offline(False)  # the phone found another network
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        page.wait_for_function(DONE, timeout=60_000)
        assert "Загружено" in _status(page)
    finally:
        context.close()
    assert hashlib.sha256(_stored(store)).digest() == hashlib.sha256(big.read_bytes()).digest()
