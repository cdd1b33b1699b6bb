"""axe-core on every page for every role, in English and Russian; no sideways scroll on a phone.

axe-core comes from the npm registry (`make assets`, pinned in package-lock.json) and is
evaluated through the DevTools protocol, which the pages' CSP does not govern: the pages are
tested exactly as served. Violations of impact "serious" or "critical" fail the test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.browser.world import World, build, pages_for, signed_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ROLES = (None, "contributor", "reviewer", "researcher", "admin")
PHONE = 390


@pytest.fixture
def axe_source() -> str:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is missing: run `make assets`")
        pytest.skip("axe-core is not installed (`make assets` installs it)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def world(live_app, live_server) -> World:
    return build(live_app, live_server)


def axe_problems(page, source: str) -> list[str]:  # noqa: ANN001
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
          .map(v => ({id: v.id, impact: v.impact,
                      nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [json.dumps(v, ensure_ascii=False) for v in result]


def sideways(page) -> int:  # noqa: ANN001
    """How many CSS pixels the page is wider than the phone's screen."""
    return int(page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"))


@pytest.mark.parametrize("locale", ["en-GB", "ru-RU"])
def test_every_page_for_every_role_has_no_serious_axe_violation_and_fits_a_phone(
        chromium, live_app, world, axe_source, locale):
    found: list[str] = []
    for role in ROLES:
        for width in (1280, PHONE):
            context = signed_in(chromium, live_app, world, role, locale=locale, width=width,
                                height=844 if width == PHONE else 900)
            page = context.new_page()
            try:
                for path in pages_for(world, role):
                    response = page.goto(world.server + path)
                    assert response is not None
                    if response.status >= 400:
                        found.append(f"{role} {path}: HTTP {response.status}")
                        continue
                    if width == PHONE:
                        extra = sideways(page)
                        if extra > 0:
                            found.append(f"{role} {path} @390: {extra} px sideways")
                    else:
                        found += [f"{role} {path}: {v}" for v in axe_problems(page, axe_source)]
            finally:
                context.close()
    assert found == [], "\n".join(found)
