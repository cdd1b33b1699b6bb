""""Add more files" on the witness's report page: plain files, or finished tus uploads.

With JavaScript the page's upload script sends each file by tus and posts the form with the
upload ids (`uploads`), as the report form does; without, the files go in the form. Sent
as the browser would (signed in, the page's CSRF token), and as an attacker would: someone
else's upload id, a malformed one, nothing at all.
"""

from __future__ import annotations

import os
import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import EvidenceItem, Role, Submission, Upload, User
from incidents.web.db import get_session
from tests.helpers import fresh_g, gen_token, gen_user, login
from tests.submissions.helpers import auth, gen_metadata, post_submission
from tests.uploads.conftest import TUS, create, patch


def _witness_with_report(client: FlaskClient) -> tuple[User, str, str]:
    """(the witness, their API token, their report's id)."""
    witness = gen_user(Role.CONTRIBUTOR)
    token = gen_token(witness)
    response = post_submission(client, token, gen_metadata())
    assert response.status_code == 201, response.get_data(as_text=True)
    return witness, token, response.get_json()["id"]


def _finished_upload(client: FlaskClient, token: str, data: bytes) -> str:
    fresh_g()
    headers = {**auth(token), **TUS}
    path = create(client, headers, len(data), filename="видео.mp4", filetype="video/mp4")
    fresh_g()
    assert patch(client, headers, path, 0, data).status_code == 204
    return path.rsplit("/", 1)[-1]


def _page(app: Flask, user: User, report: str) -> tuple[FlaskClient, str, str]:
    browser = app.test_client()
    login(browser, user)
    page = browser.get(f"/submissions/{report}", headers={"Accept-Language": "ru"})
    html = page.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert csrf
    return browser, html, csrf.group(1)


def _items(report: str) -> int:
    session = get_session()
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(EvidenceItem).join(
        Submission).where(Submission.public_id == report)) or 0


def _post(browser: FlaskClient, report: str, fields: dict[str, object]) -> object:
    fresh_g()
    return browser.post(f"/submissions/{report}/files", data=fields,
                        content_type="multipart/form-data",
                        headers={"Accept-Language": "ru"})


def test_the_page_offers_resumable_uploads_and_a_translated_file_button(
        app: Flask, client: FlaskClient) -> None:
    witness, _token, report = _witness_with_report(client)
    _browser, html, _csrf = _page(app, witness, report)
    form = html[html.index('id="add-files"'):]
    form = form[:form.index("</form>")]
    assert 'data-tus-endpoint="/api/v1/uploads/"' in form
    assert f'data-upload-scope="files:{report}"' in form
    assert "Выбрать файлы" in form  # the visible button, in Russian
    assert 'class="file-input"' in form
    assert "js/upload.js" in html


def test_a_finished_tus_upload_is_added_to_the_report_by_its_id(
        app: Flask, client: FlaskClient) -> None:
    witness, token, report = _witness_with_report(client)
    data = os.urandom(40_000)
    upload_id = _finished_upload(client, token, data)
    before = _items(report)
    browser, _html, csrf = _page(app, witness, report)
    response = _post(browser, report, {"csrf_token": csrf, "uploads": upload_id})
    assert response.status_code == 302
    assert _items(report) == before + 1
    assert get_session().scalars(sa.select(Upload)).all() == []  # claimed: the upload is gone
    page = browser.get(response.headers["Location"], headers={"Accept-Language": "ru"})
    text = page.get_data(as_text=True)
    assert "Ваши файлы добавлены" in text
    assert "видео.mp4" in text


def test_someone_elses_upload_id_adds_nothing_and_stays_theirs(
        app: Flask, client: FlaskClient) -> None:
    witness, _token, report = _witness_with_report(client)
    _other, other_token, _other_report = _witness_with_report(client)
    upload_id = _finished_upload(client, other_token, b"someone else's video")
    before = _items(report)
    browser, _html, csrf = _page(app, witness, report)
    response = _post(browser, report, {"csrf_token": csrf, "uploads": upload_id})
    assert response.status_code == 404  # as if it did not exist
    assert _items(report) == before
    assert len(get_session().scalars(sa.select(Upload)).all()) == 1  # still the owner's


def test_a_malformed_upload_id_or_no_file_is_named_beside_the_field(
        app: Flask, client: FlaskClient) -> None:
    witness, _token, report = _witness_with_report(client)
    before = _items(report)
    browser, _html, csrf = _page(app, witness, report)
    for fields, message in (({"csrf_token": csrf, "uploads": "x" * 65}, "идентификаторов загрузок"),
                            ({"csrf_token": csrf}, "Выберите хотя бы один файл")):
        response = _post(browser, report, fields)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        error = re.search(r'<p class="field-error" id="error-more-files"[^>]*>([^<]+)</p>', html)
        assert error, html[:2000]
        assert message in error.group(1)
        assert 'aria-describedby="error-more-files"' in html
    assert _items(report) == before


def test_without_a_csrf_token_nothing_is_added(app: Flask, client: FlaskClient) -> None:
    witness, token, report = _witness_with_report(client)
    upload_id = _finished_upload(client, token, b"a video")
    before = _items(report)
    browser, _html, _csrf = _page(app, witness, report)
    response = _post(browser, report, {"uploads": upload_id})
    assert response.status_code == 400
    assert _items(report) == before
    assert len(get_session().scalars(sa.select(Upload)).all()) == 1
