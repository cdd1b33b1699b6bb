"""A lawyer builds and publishes an incident in Chromium, in Russian, by picking: JavaScript
off first (plain forms), then on (the list narrows, UTC shows as the time is typed); axe-core
on the new pages with no serious or critical violation; nothing wider than a phone."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_accessibility import PHONE, axe_problems, axe_source, sideways  # noqa: F401
from tests.browser.world import World, build, signed_in

pytestmark = pytest.mark.browser


@pytest.fixture
def world(live_app, live_server) -> World:
    return build(live_app, live_server)


def test_a_lawyer_picks_two_reports_fixes_a_bad_date_previews_and_publishes(
        chromium, live_app, world):
    context = signed_in(chromium, live_app, world, "reviewer", javascript=False)
    page = context.new_page()
    try:
        page.goto(world.server + "/incidents/new")
        page.select_option("#f-pick_place", "zhanaozen")
        page.click("button[value=search]")
        assert page.locator("input[name=submissions]").count() == 1  # filtered on the server
        page.check(f"input[name=submissions][value='{world.submissions['video']}']")
        page.select_option("#f-pick_place", "")
        page.click("button[value=search]")
        page.check(f"input[name=submissions][value='{world.submissions['audio']}']")
        assert page.is_checked(f"input[name=submissions][value='{world.submissions['video']}']")
        page.fill("#f-title", "Задержания в Жанаозене")
        page.fill("#f-summary", "Свидетели описывают задержания на площади.")
        page.select_option("#f-time_precision", "exact")
        page.fill("#f-start_date", "2022-01-04")
        page.fill("#f-start_time", "14:23")
        page.fill("#f-end_date", "2022-01-03")  # before the start: a bad date
        page.fill("#f-end_time", "10:00")
        page.fill("#f-detained", "12")
        page.check("input[name=categories][value=excessive_force]")
        page.click("button[value=save]")

        assert "/incidents/" in page.url
        assert "INC-" not in page.url
        summary = page.locator("#error-summary")
        assert "Окончание раньше начала." in summary.inner_text()
        summary.locator("a[href='#f-end_date']").click()  # the summary leads to the field
        error = page.locator("#error-end_date")
        assert error.is_visible()
        assert error.inner_text() == "Окончание раньше начала."
        # The message sits inside the end date's own field, next to its input.
        assert page.locator(".field.has-error:has(#f-end_date) #error-end_date").count() == 1
        assert page.input_value("#f-title") == "Задержания в Жанаозене"
        assert page.input_value("#f-summary") == "Свидетели описывают задержания на площади."
        assert page.input_value("#f-start_time") == "14:23"
        assert page.input_value("#f-detained") == "12"
        assert page.is_checked("input[name=categories][value=excessive_force]")
        for name in ("video", "audio"):
            assert page.is_checked(f"input[name=submissions][value='{world.submissions[name]}']")

        page.fill("#f-end_date", "")
        page.fill("#f-end_time", "")
        page.click("button[value=save]")
        match = re.search(r"/incidents/(INC-[A-Z0-9]+)$", page.url)
        assert match, page.locator("main").inner_text()[:1500]
        public_id = match.group(1)
        body = page.locator("main").inner_text()
        assert "4 января 2022, 14:23 Алматы (08:23 UTC)" in body  # UTC+6 in January 2022

        page.click(f"a[href='/incidents/{public_id}/publish']")
        shown = page.locator("section.preview dl.incident").inner_text()
        assert "Задержания в Жанаозене" in page.locator("section.preview").inner_text()
        assert "08:23 UTC" in shown
        page.click("form.actions button[type=submit]")
        assert page.url.endswith(f"/incidents/{public_id}")

        page.goto(f"{world.server}/research/incidents/{public_id}")
        research = page.locator("dl.incident").inner_text()
        # The same lines, but for the moment of publication (the preview said "now").
        def without_published(text: str) -> list[str]:
            lines = text.splitlines()
            at = lines.index("Опубликовано")
            return lines[:at] + lines[at + 2:]
        assert without_published(research) == without_published(shown)
    finally:
        context.close()


def test_with_javascript_the_list_narrows_and_utc_shows_while_typing(chromium, live_app, world):
    context = signed_in(chromium, live_app, world, "reviewer")
    page = context.new_page()
    try:
        page.goto(world.server + "/incidents/new")
        page.fill("[data-picker-narrow]", "Актау")
        visible = page.locator("[data-picker] > li:visible")
        assert visible.count() == 1
        assert "Актау" in visible.inner_text()
        page.fill("#f-start_date", "2022-01-05")
        page.fill("#f-start_time", "14:23")
        assert page.inner_text("#utc-start") == "= 08:23 UTC"
        page.fill("#f-start_time", "03:00")
        assert page.inner_text("#utc-start") == "= 2022-01-04 21:00 UTC"
        page.fill("#f-start_date", "2024-06-01")
        assert page.inner_text("#utc-start") == "= 2024-05-31 22:00 UTC"  # UTC+5 since 2024
    finally:
        context.close()


def test_the_new_pages_have_no_serious_axe_violation_and_fit_a_phone(
        chromium, live_app, world, axe_source):  # noqa: F811
    from incidents.services import cases  # noqa: PLC0415 - test data only
    from incidents.web.db import get_session  # noqa: PLC0415

    session = get_session()
    case = cases.create(session, live_app.extensions["blobstore"], world.users["admin"],
                        "Дело о площади", "prosecution", "")
    cases.add_member(session, world.users["admin"], case.public_id, "reviewer-one")
    square = world.incidents["square"]
    cases.add_incidents(session, world.users["reviewer"], case.public_id, [square])
    paths = ["/incidents/new", f"/incidents/{square}", f"/incidents/{square}/edit",
             "/cases/", f"/cases/{case.public_id}"]
    found: list[str] = []
    for width in (1280, PHONE):
        context = signed_in(chromium, live_app, world, "reviewer", width=width,
                            height=844 if width == PHONE else 900)
        page = context.new_page()
        try:
            # An unpublished incident for the preview page.
            page.goto(f"{world.server}/incidents/new?submission={world.submissions['video']}")
            page.fill("#f-title", "Для предпросмотра")
            page.click("button[value=save]")
            preview = page.url + "/publish"
            for path in [*paths, preview.removeprefix(world.server)]:
                response = page.goto(world.server + path)
                assert response is not None
                assert response.status == 200, path
                if width == PHONE:
                    extra = sideways(page)
                    if extra > 0:
                        found.append(f"{path} @390: {extra} px sideways")
                else:
                    found += [f"{path}: {v}" for v in axe_problems(page, axe_source)]
            if width != PHONE:  # the error state too
                page.goto(world.server + "/incidents/new")
                page.click("button[value=save]")
                assert page.locator("#error-summary").is_visible()
                found += [f"errors: {v}" for v in axe_problems(page, axe_source)]
        finally:
            context.close()
    assert found == []


def test_a_lawyer_adds_an_incident_and_one_of_its_items_to_a_case_by_ticking(
        chromium, live_app, world):
    from incidents.services import cases  # noqa: PLC0415 - test data only
    from incidents.web.db import get_session  # noqa: PLC0415

    session = get_session()
    case = cases.create(session, live_app.extensions["blobstore"], world.users["admin"],
                        "Сообщение в ООН", "un_communication", "")
    cases.add_member(session, world.users["admin"], case.public_id, "reviewer-one")
    context = signed_in(chromium, live_app, world, "reviewer", javascript=False)
    page = context.new_page()
    try:
        page.goto(f"{world.server}/cases/{case.public_id}")
        page.fill("#f-pick_q", "nothing like this")
        page.click("form.filters button[type=submit]")
        assert page.locator("input[name=incidents]").count() == 0
        page.fill("#f-pick_q", "republic")  # words of the title, any case
        page.click("form.filters button[type=submit]")
        page.check(f"input[name=incidents][value='{world.incidents['square']}']")
        page.click("form[action$='/incidents'] button[type=submit]")
        assert "Shooting on Republic Square" in page.locator("main ul").nth(1).inner_text()
        items = page.locator("input[name=items]")
        assert items.count() >= 1
        chosen = items.first.get_attribute("value")
        items.first.check()
        page.click("form[action$='/items'] button[type=submit]")
        assert chosen in page.locator("main").inner_text()
        assert page.locator(f"input[name=items][value='{chosen}']").count() == 0
    finally:
        context.close()
