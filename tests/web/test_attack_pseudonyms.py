"""Look-alike and invisible pseudonyms, and probing names through one invitation (item 7)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from incidents.models import Role, User
from incidents.web.db import get_session
from tests.helpers import PASSPHRASE, gen_invitation, gen_user
from tests.web.conftest import register_form

TAKEN = "This pseudonym is taken"


def users() -> int:
    session = get_session()
    session.expire_all()
    return session.scalar(select(func.count()).select_from(User)) or 0


@pytest.mark.parametrize(("existing", "lookalike"), [
    ("admin", "\u0430dmin"),           # Cyrillic а
    ("rev_one", "rev_\u043ene"),       # Cyrillic о
    ("reviewer-1", "reviewer-l"),      # digit one and small L: same skeleton
    ("Aigerim", "Aigerirn"),           # rn looks like m
    ("Steppe Fox", "STEPPE F\u03bfX"),  # Greek omicron, other case
])
def test_a_name_that_looks_like_an_existing_one_is_refused(client, existing, lookalike):
    gen_user(Role.ADMIN if existing == "admin" else Role.CONTRIBUTOR, pseudonym=existing)
    before = users()
    response = register_form(client, gen_invitation(), lookalike, PASSPHRASE)
    assert response.status_code in (400, 409)
    assert users() == before


@pytest.mark.parametrize("name", [
    "ab\u1160cd",        # Hangul jungseong filler, renders as nothing
    "ab\u3164cd",        # Hangul filler
    "rev\u2010one",      # U+2010 hyphen, imitates "-"
    "rev\u2011one",      # non-breaking hyphen
    "al\u00adiya",       # soft hyphen
    "x\u200by\u200bz",   # zero-width space
    "Ali\u034fya",       # combining grapheme joiner
    "p\u0430ypal",       # Latin and Cyrillic mixed, no existing name needed
])
def test_invisible_and_imitating_characters_are_refused_naming_the_field(client, name):
    response = register_form(client, gen_invitation(), name, PASSPHRASE)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True) or \
        "pseudonym" in response.get_data(as_text=True)
    assert users() == 0


@pytest.mark.parametrize("name", ["Steppe Fox", "Дала түлкісі", "Қайрат", "Ayaulym_K",
                                  "Ózen 2022", "O'Brien", "Тихий ветер"])
def test_ordinary_names_in_one_alphabet_are_accepted(client, name):
    response = register_form(client, gen_invitation(), name, PASSPHRASE)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_one_invitation_cannot_probe_unlimited_names(app_with):
    app = app_with(login_free_attempts=5, login_delay_base_seconds=60)
    for n in range(20):
        gen_user(Role.CONTRIBUTOR, pseudonym=f"known-{n:02d}")
    client = app.test_client()
    invitation = gen_invitation()
    answers = [register_form(client, invitation, f"known-{n:02d}", PASSPHRASE).status_code
               for n in range(20)]
    assert answers[:5] == [409] * 5
    assert set(answers[5:]) == {429}  # the rest learn nothing
    # Another invitation is not slowed by this one's probing.
    fresh = register_form(app.test_client(), gen_invitation(), "brand new name", PASSPHRASE)
    assert fresh.status_code == 302
