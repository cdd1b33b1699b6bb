"""Every page in Russian and Kazakh, for every role: no English words left in what people read.

The words looked for are those of the English catalogue (messages.pot) that no Russian or
Kazakh translation uses itself (so "Natural Earth", "CSV", "Excel" are fine). Text inside
code, pre, user content and elements marked with another language is not read: ids, hashes,
pseudonyms, testimony and the language switcher's "English" are not leftovers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.browser.world import World, build, pages_for, signed_in

pytestmark = pytest.mark.browser

TRANSLATIONS = Path(__file__).resolve().parents[2] / "incidents" / "translations"
WORD = re.compile(r"[A-Za-z]{3,}")
ROLES = (None, "contributor", "reviewer", "researcher", "admin")
VISIBLE_TEXT = """() => {
  const skip = 'code, pre, kbd, samp, script, style, [lang]:not(html), .pseudonym, '
             + '.testimony, .filename, blockquote, .lede, .user-text, svg';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !parent.offsetParent && parent !== document.body) {
      continue;
    }
    out.push(node.textContent);
  }
  return out.join(' ');
}"""


def _words(texts: list[str]) -> set[str]:
    return {w.casefold() for text in texts for w in WORD.findall(text)}


def english_only_words() -> set[str]:
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    english = _words([s for m in template if m.id
                      for s in (m.id if isinstance(m.id, tuple) else (m.id,))])
    english -= _words(re.findall(r"%\((\w+)\)", " ".join(str(m.id) for m in template)))
    translated: list[str] = []
    for language in ("ru", "kk"):
        with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            for m in read_po(handle, locale=language):
                strings = m.string if isinstance(m.string, tuple) else (m.string,)
                translated += [s for s in strings if s]
    return english - _words(translated)


@pytest.fixture
def world(live_app, live_server) -> World:
    return build(live_app, live_server)


@pytest.mark.parametrize("locale", ["ru-RU", "kk-KZ"])
def test_no_page_shows_english_catalogue_words_in_russian_or_kazakh(chromium, live_app, world,
                                                                     locale):
    # Pseudonyms are people's own words, wherever a page names someone.
    leftovers = english_only_words() - _words([u.pseudonym for u in world.users.values()])
    assert {"submission", "testimony", "assessment"} <= leftovers  # the test can fail
    found: list[str] = []
    for role in ROLES:
        context = signed_in(chromium, live_app, world, role, locale=locale)
        page = context.new_page()
        try:
            for path in pages_for(world, role):
                page.goto(world.server + path)
                assert page.locator("html").get_attribute("lang") == locale[:2]
                words = sorted(_words([page.evaluate(VISIBLE_TEXT)]) & leftovers)
                if words:
                    found.append(f"{role} {path}: {', '.join(words)}")
        finally:
            context.close()
    assert found == [], "\n".join(found)
