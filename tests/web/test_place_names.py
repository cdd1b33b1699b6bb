"""Places appear by their name in the reader's language, never as an internal id."""

from __future__ import annotations

import pytest
from flask import Flask

from incidents.web.i18n import place_name


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Zhanaozen"), ("ru", "Жанаозен"), ("kk", "Жаңаөзен"),
])
def test_a_town_is_named_in_the_readers_language(app: Flask, language: str,
                                                 expected: str) -> None:
    with app.test_request_context("/", headers={"Accept-Language": language}):
        assert place_name("zhanaozen") == expected


def test_an_unlisted_place_shows_its_id_and_no_place_a_dash(app: Flask) -> None:
    with app.test_request_context("/"):
        assert place_name("atlantis") == "atlantis"
        assert place_name(None) == "—"
