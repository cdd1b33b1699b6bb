"""The witness's pages with JavaScript off: a plain multipart form, my submissions, receipt."""

from __future__ import annotations

import io
import json
import re

from flask import Flask
from flask.testing import FlaskClient

from incidents.models import Role, User
from tests.helpers import gen_user, login
from tests.submissions.helpers import blob_files, fresh_g

PHOTO = b"\xff\xd8\xff\xe0 a photo"


def _token(client: FlaskClient) -> str:
    fresh_g()
    html = client.get("/submit").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    fresh_g()
    return match.group(1)


def _form(token: str, **overrides: object) -> dict[str, object]:
    # Order as a browser sends it: the token first, the files last.
    form: dict[str, object] = {
        "csrf_token": token, "testimony": "<script>alert(1)</script> они стреляли",
        "date": "2022-01-06", "time": "14:30", "time_precision": "exact", "place": "aktau",
        "categories": ["excessive_force"], "tags": ["beating"], "injured": "2",
        "forces": "riot police", "consent_legal": "yes", "consent_research": "yes",
        "consent_publication": "no", "consent_contact": "no"}
    form.update(overrides)
    form["files"] = [(io.BytesIO(PHOTO), '"><img src=x onerror=alert(1)>.jpg', "image/jpeg")]
    return form


def _signed_in(client: FlaskClient) -> User:
    user = gen_user(Role.CONTRIBUTOR)
    login(client, user)
    return user


def test_the_form_works_as_a_plain_post_and_shows_the_report(client: FlaskClient) -> None:
    _signed_in(client)
    response = client.post("/submit", data=_form(_token(client)),
                           content_type="multipart/form-data")
    assert response.status_code == 302
    fresh_g()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in page
    assert "<img src=x" not in page
    fresh_g()
    assert "Received" in client.get("/submissions").get_data(as_text=True)


def test_the_form_without_a_csrf_token_is_refused_and_stores_nothing(
        app: Flask, client: FlaskClient) -> None:
    _signed_in(client)
    form = _form("")
    del form["csrf_token"]
    fresh_g()
    response = client.post("/submit", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert blob_files(app) == []


def test_a_missing_consent_answer_shows_the_form_again_with_what_was_typed(
        app: Flask, client: FlaskClient) -> None:
    _signed_in(client)
    form = _form(_token(client))
    del form["consent_contact"]
    fresh_g()
    response = client.post("/submit", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "(consent to contact)" in html
    assert "consent.contact" not in html
    assert "riot police" in html
    assert blob_files(app) == []


def test_a_form_error_names_the_field_in_the_witnesss_language(client: FlaskClient) -> None:
    _signed_in(client)
    client.get("/language/ru")
    form = _form(_token(client))
    del form["consent_legal"]
    fresh_g()
    html = client.post("/submit", data=form, content_type="multipart/form-data").text
    assert "(согласие на использование в судебных разбирательствах)" in html
    assert "consent.legal" not in html


def test_the_file_size_limit_is_written_in_the_witnesss_units(client: FlaskClient) -> None:
    _signed_in(client)
    client.get("/language/kk")
    fresh_g()
    html = client.get("/submit").text
    assert re.search(r"\d+,\d [МГ]Б", html)
    assert "iB" not in html


def test_the_receipt_page_names_custody_events_in_the_witnesss_language(
        client: FlaskClient) -> None:
    _signed_in(client)
    client.get("/language/ru")
    response = client.post("/submit", data=_form(_token(client)),
                           content_type="multipart/form-data")
    public_id = response.headers["Location"].split("/")[-1].split("?")[0]
    fresh_g()
    page = client.get(f"/submissions/{public_id}/receipt").text
    assert "сохранено в хранилище доказательств <code>" in page
    assert "stored <code>" not in page
    fresh_g()
    events = json.loads(client.get(f"/submissions/{public_id}/receipt.json").data)["events"]
    assert "stored" in [e["action"] for e in events]  # the data keeps the action id


def test_the_receipt_page_and_json_download(client: FlaskClient) -> None:
    _signed_in(client)
    response = client.post("/submit", data=_form(_token(client)),
                           content_type="multipart/form-data")
    public_id = response.headers["Location"].split("/")[-1].split("?")[0]
    fresh_g()
    page = client.get(f"/submissions/{public_id}/receipt").get_data(as_text=True)
    assert "How to check this later" in page
    fresh_g()
    download = client.get(f"/submissions/{public_id}/receipt.json")
    assert "attachment" in download.headers["Content-Disposition"]
    assert json.loads(download.data)["submission"] == public_id


def test_another_witnesss_pages_look_like_nothing(client: FlaskClient, app: Flask) -> None:
    owner_client = app.test_client()
    _signed_in(owner_client)
    response = owner_client.post("/submit", data=_form(_token(owner_client)),
                                 content_type="multipart/form-data")
    public_id = response.headers["Location"].split("/")[-1].split("?")[0]
    _signed_in(client)
    for suffix in ("", "/receipt", "/receipt.json"):
        fresh_g()
        assert client.get(f"/submissions/{public_id}{suffix}").status_code == 404


def test_quick_exit_is_a_neutral_local_page(client: FlaskClient) -> None:
    _signed_in(client)
    fresh_g()
    page = client.get("/submit").get_data(as_text=True)
    assert 'href="/exit"' in page
    fresh_g()
    neutral = client.get("/exit")
    assert neutral.status_code == 200
    assert "Evidence" not in neutral.get_data(as_text=True)


def test_the_form_warns_that_photos_carry_location(client: FlaskClient) -> None:
    _signed_in(client)
    fresh_g()
    assert "GPS" in client.get("/submit").get_data(as_text=True)
