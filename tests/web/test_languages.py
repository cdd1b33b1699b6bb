"""Russian and Kazakh: pages, errors and API messages in the reader's language; complete catalogues.

The catalogue tests fail as soon as a new user-visible string is added without a Russian and a
Kazakh translation: run `make translations-update`, translate what it lists, run it again.
"""

from __future__ import annotations

import gettext
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask.globals import app_ctx
from flask.testing import FlaskClient
from flask_babel import force_locale, get_translations
from werkzeug.test import TestResponse

from incidents.models import Role
from tests.helpers import PASSPHRASE, csrf_token, gen_invitation, gen_user, login

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "incidents" / "translations"
LANGUAGES = ("ru", "kk")
# printf-style conversions, `%%` and a stray `%` before a letter included.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]")


class FreshRequestClient(FlaskClient):
    """Gives every request a fresh `g`, as each request has in production.

    The `app` fixture keeps one app context pushed for the whole test and Flask reuses it
    for every request, so Flask-Babel's cached locale (and Flask-Login's user) would leak
    from one request into the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        app_ctx.g = self.application.app_ctx_globals_class()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = FreshRequestClient
    return app.test_client()


def choose(client: FlaskClient, how: str, language: str) -> dict[str, str]:
    """Pick the language the way a user does; returns the headers to send with requests."""
    if how == "switch":
        assert client.get(f"/language/{language}").status_code == 302
        return {"Accept-Language": "en-GB,en;q=0.9"}  # the explicit choice must win
    return {"Accept-Language": f"{language}-KZ,{language};q=0.9,en;q=0.5"}


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', page)
    assert match, "page has no <html lang>"
    return match.group(1)


def assert_in_language(page: str, language: str, english: str, phrases: dict[str, str]) -> None:
    assert html_lang(page) == language
    assert phrases[language] in page
    assert english not in page


HOW = pytest.mark.parametrize("how", ["switch", "header"])
LANGUAGE = pytest.mark.parametrize("language", LANGUAGES)

# (path, an English source sentence on it, its translations)
PUBLIC_PAGES = [
    ("/", "Evidence of the January 2022 events in Kazakhstan",
     {"ru": "Доказательства по январским событиям 2022 года в Казахстане",
      "kk": "Қазақстандағы 2022 жылғы қаңтар оқиғаларының дәлелдемелері"}),
    ("/", "Everything you send is encrypted as soon as it arrives.",
     {"ru": "Всё, что вы отправляете, шифруется сразу при получении",
      "kk": "Сіз жіберген барлық нәрсе келген сәтте-ақ шифрланады"}),
    ("/login", "Passphrase",
     {"ru": "Парольная фраза", "kk": "Құпия фраза"}),
    ("/register", "Choose a pseudonym: not your real name",
     {"ru": "Выберите псевдоним: не ваше настоящее имя",
      "kk": "Бүркеншік ат таңдаңыз: шын атыңызды да"}),
]


@HOW
@LANGUAGE
@pytest.mark.parametrize(("path", "english", "phrases"), PUBLIC_PAGES)
def test_a_public_page_is_shown_in_the_chosen_language(
    client: FlaskClient, how: str, language: str, path: str, english: str,
    phrases: dict[str, str],
) -> None:
    headers = choose(client, how, language)
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    assert_in_language(response.text, language, english, phrases)


@HOW
@LANGUAGE
def test_a_signed_in_witness_sees_their_account_in_the_chosen_language(
    client: FlaskClient, how: str, language: str,
) -> None:
    headers = choose(client, how, language)
    login(client, gen_user(Role.CONTRIBUTOR, pseudonym="Aigerim"))
    page = client.get("/account/", headers=headers).text
    assert_in_language(page, language, "A token lets an app act as you.",
                       {"ru": "Токен позволяет приложению действовать от вашего имени",
                        "kk": "Токен қосымшаға сіздің атыңыздан әрекет етуге"})
    assert {"ru": "Личный кабинет", "kk": "Жеке кабинет"}[language] in page
    assert "Aigerim" in page


@LANGUAGE
def test_the_report_form_speaks_to_the_witness_in_the_chosen_language(
    client: FlaskClient, language: str,
) -> None:
    choose(client, "switch", language)
    login(client, gen_user(Role.CONTRIBUTOR))
    response = client.get("/submit")
    assert response.status_code == 200
    page = response.text
    assert_in_language(page, language, "Photos and videos can carry hidden information",
                       {"ru": "В фото и видео может быть скрытая информация",
                        "kk": "Фото мен бейнеде жасырын ақпарат болуы мүмкін"})
    assert {"ru": "Расскажите, что вы видели", "kk": "Көргеніңізді айтып беріңіз"}[language] \
        in page
    # Categories come from the taxonomy data, which carries its own labels.
    assert {"ru": "Пытки или жестокое обращение",
            "kk": "Азаптау немесе қатыгездік"}[language] in page


@LANGUAGE
def test_a_wrong_passphrase_is_reported_in_the_chosen_language(
    client: FlaskClient, language: str,
) -> None:
    choose(client, "switch", language)
    gen_user(Role.CONTRIBUTOR, pseudonym="Aigerim")
    response = client.post("/login", data={"csrf_token": csrf_token(client),
                                           "pseudonym": "Aigerim", "passphrase": "wrong" * 4})
    assert response.status_code == 401
    assert_in_language(response.text, language, "is not correct",
                       {"ru": "Неверный псевдоним, парольная фраза или код.",
                        "kk": "Бүркеншік ат, құпия фраза немесе код қате."})


@HOW
@LANGUAGE
def test_the_not_found_page_is_in_the_chosen_language(
    client: FlaskClient, how: str, language: str,
) -> None:
    headers = choose(client, how, language)
    response = client.get("/no-such-page", headers=headers)
    assert response.status_code == 404
    assert_in_language(response.text, language, "There is nothing here.",
                       {"ru": "Здесь ничего нет.", "kk": "Мұнда ештеңе жоқ."})
    assert {"ru": "Вернуться на главную страницу", "kk": "Басты бетке оралу"}[language] \
        in response.text


@LANGUAGE
def test_a_page_the_user_may_not_see_says_so_in_the_chosen_language(
    client: FlaskClient, language: str,
) -> None:
    choose(client, "switch", language)
    login(client, gen_user(Role.CONTRIBUTOR))
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert_in_language(response.text, language, "You do not have access to this page.",
                       {"ru": "У вас нет доступа к этой странице.",
                        "kk": "Бұл бетке кіруге рұқсатыңыз жоқ."})


@LANGUAGE
def test_an_expired_form_is_explained_in_the_chosen_language(
    client: FlaskClient, language: str,
) -> None:
    choose(client, "switch", language)
    response = client.post("/login", data={"pseudonym": "Aigerim", "passphrase": PASSPHRASE})
    assert response.status_code == 400
    assert_in_language(response.text, language, "The form expired",
                       {"ru": "Срок действия формы истёк",
                        "kk": "Форманың мерзімі өтіп кеткен"})


@HOW
@LANGUAGE
def test_an_api_error_message_is_in_the_chosen_language(
    client: FlaskClient, how: str, language: str,
) -> None:
    headers = choose(client, how, language)
    response = client.post("/api/v1/auth/register", headers=headers, json={
        "invitation": "not-an-invitation", "pseudonym": "Aigerim", "passphrase": PASSPHRASE})
    assert response.status_code == 400
    assert response.is_json
    assert response.json == {
        "error": "bad_request", "field": "invitation",
        "message": {"ru": "Это приглашение недействительно. Возможно, срок его действия "
                          "истёк или оно уже использовано.",
                    "kk": "Бұл шақыру жарамсыз. Оның мерзімі өтіп кеткен немесе ол бұрын "
                          "пайдаланылған болуы мүмкін."}[language],
    }


@LANGUAGE
def test_an_unknown_api_path_answers_json_in_the_chosen_language(
    client: FlaskClient, language: str,
) -> None:
    response = client.get("/api/v1/no-such-thing", headers=choose(client, "header", language))
    assert response.status_code == 404
    assert response.json is not None
    assert response.json["message"] == {"ru": "Здесь ничего нет.",
                                        "kk": "Мұнда ештеңе жоқ."}[language]


@LANGUAGE
def test_a_number_is_filled_in_inside_the_translated_api_message(
    client: FlaskClient, language: str,
) -> None:
    response = client.post("/api/v1/auth/register", headers=choose(client, "header", language),
                           json={"invitation": gen_invitation(), "pseudonym": "Aigerim",
                                 "passphrase": "short"})
    assert response.status_code == 400
    assert response.json is not None
    assert response.json["message"] == {
        "ru": "Выберите парольную фразу подлиннее: минимальное число символов — 12. "
              "Несколько не связанных между собой слов легко запомнить.",
        "kk": "Кемінде 12 таңбадан тұратын құпия фраза таңдаңыз. Бір-бірімен байланысы жоқ "
              "бірнеше сөзді есте сақтау оңай."}[language]


@LANGUAGE
def test_a_registration_error_is_shown_in_the_chosen_language(
    client: FlaskClient, language: str,
) -> None:
    choose(client, "switch", language)
    response = client.post("/register", data={
        "csrf_token": csrf_token(client, "/register"), "invitation": "not-an-invitation",
        "pseudonym": "Aigerim", "passphrase": PASSPHRASE})
    assert response.status_code == 400
    assert_in_language(response.text, language, "This invitation is not valid.",
                       {"ru": "Это приглашение недействительно.",
                        "kk": "Бұл шақыру жарамсыз."})


def test_english_chosen_explicitly_beats_a_russian_browser(client: FlaskClient) -> None:
    client.get("/language/en")
    page = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).text
    assert html_lang(page) == "en"
    assert "Evidence of the January 2022 events in Kazakhstan" in page


def test_a_browser_in_an_unsupported_language_gets_english(client: FlaskClient) -> None:
    page = client.get("/", headers={"Accept-Language": "de-DE,fr;q=0.8"}).text
    assert html_lang(page) == "en"


def test_the_language_chosen_before_signing_in_is_kept_after(client: FlaskClient) -> None:
    client.get("/language/kk")
    login(client, gen_user(Role.CONTRIBUTOR))
    page = client.get("/account/", headers={"Accept-Language": "ru"}).text
    assert html_lang(page) == "kk"


def test_a_witness_who_registered_in_kazakh_gets_kazakh_on_another_device(
    app: Flask, client: FlaskClient,
) -> None:
    client.get("/language/kk")
    response = client.post("/register", data={
        "csrf_token": csrf_token(client, "/register"), "invitation": gen_invitation(),
        "pseudonym": "Dana", "passphrase": PASSPHRASE})
    assert response.status_code == 302
    other_device = app.test_client()
    token = csrf_token(other_device)
    assert other_device.post("/login", data={"csrf_token": token, "pseudonym": "Dana",
                                             "passphrase": PASSPHRASE}).status_code == 302
    assert html_lang(other_device.get("/account/").text) == "kk"


@pytest.mark.parametrize("code", ["xx", "EN", "ru-RU", "..", "..%2F..%2Fetc", "../../etc",
                                  "%00", "kk%0d%0aSet-Cookie:x=1"])
def test_an_unknown_language_code_is_ignored_and_the_page_stays_in_its_language(
    client: FlaskClient, code: str,
) -> None:
    client.get("/language/ru")
    response = client.get(f"/language/{code}?next=/login")
    # Refused outright (404, in the reader's language) or ignored with a same-site redirect.
    if response.status_code == 404:
        assert html_lang(response.text) == "ru"
        assert "Здесь ничего нет." in response.text
    else:
        assert response.status_code == 302
        assert response.location == "/login"
    assert "Set-Cookie" not in response.headers or "x=1" not in response.headers["Set-Cookie"]
    assert html_lang(client.get("/").text) == "ru"


@pytest.mark.parametrize(("target", "expected"), [
    ("/login", "/login"),
    ("/account/?tab=tokens", "/account/?tab=tokens"),
    ("//evil.example/", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_switching_language_returns_only_to_a_page_of_this_site(
    client: FlaskClient, target: str, expected: str,
) -> None:
    response = client.get("/language/kk", query_string={"next": target})
    assert response.status_code == 302
    assert response.location == expected


# --- the catalogues themselves ---------------------------------------------------------


def read_catalog(language: str) -> Catalog:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=language)


def entries(language: str) -> list[tuple[tuple[str, ...], tuple[str, ...], bool]]:
    """(msgid forms, msgstr forms, fuzzy) of every live entry."""
    result = []
    for message in read_catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        strings = (message.string if isinstance(message.string, (tuple, list))
                   else (message.string,))
        result.append((tuple(str(i) for i in ids), tuple(str(s or "") for s in strings),
                       message.fuzzy))
    return result


@cache
def strings_in_the_code() -> frozenset[str]:
    """What `pybabel extract` finds, with the same mapping and keywords as the Makefile."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords,
    ):
        found.add(message if isinstance(message, str) else message[0])
    return frozenset(found)


@LANGUAGE
def test_every_string_in_the_code_is_in_the_catalogue(language: str) -> None:
    in_catalogue = {ids[0] for ids, _strings, _fuzzy in entries(language)}
    missing = sorted(strings_in_the_code() - in_catalogue)
    assert not missing, f"not in {language}: run `make translations-update`: {missing}"


@LANGUAGE
def test_every_string_is_translated_and_not_fuzzy(language: str) -> None:
    gaps = [ids[0] for ids, strings, fuzzy in entries(language) if fuzzy or not all(strings)]
    assert not gaps, f"untranslated or fuzzy in {language}: {gaps}"


@LANGUAGE
def test_every_placeholder_of_a_string_is_kept_in_its_translation(language: str) -> None:
    broken = [
        (ids[0], string) for ids, strings, _fuzzy in entries(language) for string in strings
        if string and sorted(PLACEHOLDER.findall(string)) != sorted(PLACEHOLDER.findall(ids[-1]))
    ]
    assert not broken, f"placeholders differ in {language}: {broken}"


@LANGUAGE
def test_the_compiled_catalogue_the_app_uses_is_the_one_in_the_po_file(
    app: Flask, language: str,
) -> None:
    with app.test_request_context(), force_locale(language):
        translations = get_translations()
        rule = gettext.c2py(read_catalog(language).plural_expr)
        stale = []
        for ids, strings, _fuzzy in entries(language):
            if len(ids) == 1:
                if translations.ugettext(ids[0]) != strings[0]:
                    stale.append(ids[0])
            elif any(translations.ungettext(ids[0], ids[1], n) != strings[rule(n)]
                     for n in (1, 2, 5)):
                stale.append(ids[0])
    assert not stale, f"{language} .mo is older than the .po: run `make translations`: {stale}"


@pytest.mark.parametrize(("language", "forms"), [("ru", 3), ("kk", 2)])
def test_the_catalogue_declares_the_plural_forms_of_its_language(
    language: str, forms: int,
) -> None:
    catalog = read_catalog(language)
    assert catalog.num_plurals == forms
    assert f"nplurals={forms};" in catalog.plural_forms


@pytest.mark.parametrize(("language", "expected"), [
    ("ru", [0, 1, 2, 2, 0, 1]),  # 1 файл, 2 файла, 5 файлов, 11 файлов, 21 файл, 22 файла
    ("kk", [0, 1, 1, 1, 1, 1]),
])
def test_the_plural_rule_picks_the_right_form(language: str, expected: list[int]) -> None:
    rule = gettext.c2py(read_catalog(language).plural_expr)
    assert [rule(n) for n in (1, 2, 5, 11, 21, 22)] == expected
