"""The reviewers' pages, driven through their forms as a browser would."""

from __future__ import annotations

import re

from tests.review.test_pages import sign_in
from tests.web.conftest import form_token


def signed_in(app, world):
    browser = app.test_client()
    sign_in(browser, world.reviewer)
    return browser


def test_a_reviewer_records_an_actor_links_it_and_sees_the_translation_beside_the_original(
        app, world):
    browser = signed_in(app, world)
    made = browser.post("/actors/", data={
        "csrf_token": form_token(browser), "kind": "person", "name_latin": "Aidos Beken",
        "name_cyrillic": "Айдос Бекен", "aliases": "A. B.\nБекен А.", "force": "national_guard"})
    assert made.status_code == 302, made.get_data(as_text=True)[:400]
    actor_id = made.headers["Location"].rsplit("/", 1)[-1]
    page = browser.get(made.headers["Location"]).get_data(as_text=True)
    assert "Айдос Бекен" in page
    assert "Бекен А." in page
    linked = browser.post(f"/actors/incidents/{world.incident}/involvements", data={
        "csrf_token": form_token(browser), "actor": actor_id, "role": "gave_order",
        "status": "alleged", "item": world.testimony_item,
        "excerpt": "Приказ отдал офицер в чёрной форме"})
    assert linked.status_code == 302, linked.get_data(as_text=True)[:400]
    incident_page = browser.get(f"/actors/incidents/{world.incident}").get_data(as_text=True)
    ids = re.findall(r"/actors/citations/(CIT-[A-Z2-7]+)/translations", incident_page)
    target = next(i for i in ids if i in incident_page.split("Приказ отдал офицер")[1][:900])
    added = browser.post(f"/actors/citations/{target}/translations", data={
        "csrf_token": form_token(browser), "language": "en",
        "text": "The order was given by an officer in black",
        "back_to": f"/actors/incidents/{world.incident}"})
    assert added.status_code == 302
    assert added.headers["Location"].endswith(f"/actors/incidents/{world.incident}")
    shown = browser.get(f"/actors/incidents/{world.incident}").get_data(as_text=True)
    pair = re.search(r'<div class="side-by-side">\s*<blockquote class="original"[^>]*>'
                     r"Приказ отдал офицер в чёрной форме</blockquote>\s*"
                     r'<blockquote class="translation" lang="en">The order was given by an '
                     r"officer in black", shown)
    assert pair is not None
    assert "alleged (uncited)" not in shown  # every link so far is cited
    browser.post(f"/actors/incidents/{world.incident}/involvements", data={
        "csrf_token": form_token(browser), "actor": actor_id, "role": "official_responsible"})
    shown = browser.get(f"/actors/incidents/{world.incident}").get_data(as_text=True)
    assert "alleged (uncited)" in shown


def test_a_translation_redirect_never_leaves_the_site(app, world):
    browser = signed_in(app, world)
    links = browser.get(f"/actors/incidents/{world.incident}").get_data(as_text=True)
    target = re.findall(r"/actors/citations/(CIT-[A-Z2-7]+)/translations", links)[0]
    answer = browser.post(f"/actors/citations/{target}/translations", data={
        "csrf_token": form_token(browser), "language": "en", "text": "x",
        "back_to": "//evil.example/"})
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/actors/")


def test_bad_form_input_answers_400_naming_the_field(app, world):
    browser = signed_in(app, world)
    answer = browser.post(f"/actors/{world.person}/posts", data={
        "csrf_token": form_token(browser), "kind": "member", "target": world.unit,
        "start": "2022-01-10", "end": "2022-01-01"})
    assert answer.status_code == 400
    assert "The end of a date range is before its start." in answer.get_data(as_text=True)


def test_the_pages_speak_russian_and_kazakh(app, world):
    browser = signed_in(app, world)
    for language, word in (("ru", "Кто несёт ответственность"), ("kk", "Кім жауапты")):
        page = browser.get(f"/actors/incidents/{world.incident}",
                           headers={"Accept-Language": language}).get_data(as_text=True)
        assert word in page, language


def test_the_dossier_button_downloads_the_zip(app, world):
    browser = signed_in(app, world)
    answer = browser.post(f"/actors/{world.person}/dossier",
                          data={"csrf_token": form_token(browser)})
    assert answer.status_code == 200
    assert answer.mimetype == "application/zip"
    assert answer.get_data()[:2] == b"PK"
