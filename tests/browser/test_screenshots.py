"""`make screenshots`: every page at 1280 and 390 px in Russian, into docs/screens/.

Skipped unless SCREENSHOTS=1 (pictures are for people; `make test` does not take them).
docs/screens.md links each picture; this test rewrites it from what it took.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.world import World, build, pages_for, signed_in

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "docs" / "screens"
ROLES = (None, "contributor", "reviewer", "researcher", "admin")
MAX_HEIGHT = 2400  # px: a long page is cut, the PNG stays small


def _name(role: str | None, path: str, world: World) -> str:
    stem = path.strip("/") or "home"
    for key, public_id in world.submissions.items():
        stem = stem.replace(public_id, key)
    for key, public_id in world.incidents.items():
        stem = stem.replace(public_id, "incident" if key == "square" else f"incident-{key}")
    for key, public_id in world.cases.items():
        stem = stem.replace(public_id, f"case-{key}")
    stem = re.sub(r"INC-[A-Z0-9]+", "incident", stem)
    return f"{role or 'anonymous'}-{re.sub(r'[^a-z0-9]+', '-', stem).strip('-')}"


@pytest.mark.skipif(os.environ.get("SCREENSHOTS") != "1", reason="run by `make screenshots`")
def test_every_page_is_photographed_at_desktop_and_phone_width(chromium, live_app,
                                                               live_server):
    world = build(live_app, live_server)
    SCREENS.mkdir(parents=True, exist_ok=True)
    for old in SCREENS.glob("*.png"):
        old.unlink()
    lines = ["# Screens", "",
             "Every page in Russian at 1280 px (desktop) and 390 px (phone), made by",
             "`make screenshots` from the browser tests' world (tests/browser/world.py). Long",
             f"pages are cut at {MAX_HEIGHT} px.", ""]
    seen: set[str] = set()
    for role in ROLES:
        lines += [f"## {role or 'anonymous'}", "", "| page | 1280 px | 390 px |", "|---|---|---|"]
        for path in pages_for(world, role):
            name = _name(role, path, world)
            if name in seen:
                continue
            seen.add(name)
            cells = []
            for width in (1280, 390):
                context = signed_in(chromium, live_app, world, role, locale="ru-RU",
                                    width=width, height=844 if width == 390 else 900)
                page = context.new_page()
                try:
                    page.goto(world.server + path)
                    # The interactive map and chart fetch their data after the load.
                    page.wait_for_load_state("networkidle")
                    target = SCREENS / f"{name}-{width}.png"
                    page.screenshot(path=str(target), full_page=True)
                finally:
                    context.close()
                _shrink(target)
                cells.append(f"[{width}](screens/{target.name})")
            lines.append(f"| {name.split('-', 1)[1]} | " + " | ".join(cells) + " |")
        lines.append("")
    (ROOT / "docs" / "screens.md").write_text("\n".join(lines), encoding="utf-8")


def _shrink(path: Path) -> None:
    """Cut very long pages and store as an 8-bit palette PNG (a few dozen KB)."""
    with Image.open(path) as image:
        picture = image.convert("RGB")
    if picture.height > MAX_HEIGHT:
        picture = picture.crop((0, 0, picture.width, MAX_HEIGHT))
    picture.quantize(colors=64).save(path, optimize=True)
