"""The witness form on a phone: steps with JavaScript, one page without, big targets, a
summary before sending, everything kept after an error, the file button in Russian."""

from __future__ import annotations

import pytest

from incidents.models import Role
from tests.browser.test_submit_browser import _fill_report, _sign_in, _step
from tests.helpers import gen_user

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# Everything a finger must hit: at least 44 CSS pixels tall (WCAG 2.5.5).
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'main a, main button, main select, main input:not([type=hidden]):not([type=file]),'
    + ' main textarea, main summary, header a, header button')]
  .filter(e => e.offsetParent !== null)
  .map(e => (e.type === 'checkbox' || e.type === 'radio') ? e.closest('label') : e)
  .filter(e => e && e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""


def test_with_javascript_the_form_goes_step_by_step_and_sums_up_before_sending(
        chromium, live_server):
    gen_user(Role.CONTRIBUTOR, pseudonym="Шаг за шагом")
    context = chromium.new_context(locale="ru-RU", viewport=PHONE)
    page = context.new_page()
    try:
        _sign_in(page, live_server, "Шаг за шагом")
        page.goto(f"{live_server}/language/ru?next=/submit")
        assert page.locator("fieldset.step:visible").count() == 1
        assert page.locator("#date").input_value() == ""  # no invented date
        page.fill("#testimony", "Нас задержали у акимата.")
        page.click("#step-what .step-next")
        assert page.locator("#step-when").is_visible()
        assert not page.locator("#step-what").is_visible()
        _fill_report(page)
        _step(page, "step-files")
        assert page.locator("label.file-picker").inner_text() == "Выбрать файлы"
        _step(page, "step-send")
        summary = page.locator("#report-summary").inner_text()
        assert "Пятого января" in summary  # the testimony typed by _fill_report
        assert "Алматы" in summary
        assert page.evaluate(SMALL_TARGETS) == []
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_without_javascript_the_form_is_one_page_with_big_targets(chromium, live_server):
    gen_user(Role.CONTRIBUTOR, pseudonym="Без скриптов")
    context = chromium.new_context(locale="ru-RU", viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        _sign_in(page, live_server, "Без скриптов")
        page.goto(f"{live_server}/submit")
        assert page.locator("fieldset.step:visible").count() == 7
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
    context = chromium.new_context(locale="ru-RU", viewport=PHONE)
    page = context.new_page()
    try:
        # Measured with styles only (JavaScript on changes nothing of the sizes).
        _sign_in(page, live_server, "Без скриптов")
        page.goto(f"{live_server}/submit")
        page.evaluate("() => document.querySelectorAll('fieldset.step')"
                      ".forEach(s => { s.hidden = false; })")
        assert page.evaluate(SMALL_TARGETS) == []
    finally:
        context.close()


def test_a_bad_date_keeps_everything_typed_and_points_at_the_field(chromium, live_server):
    gen_user(Role.CONTRIBUTOR, pseudonym="Ошибка даты")
    context = chromium.new_context(locale="ru-RU", java_script_enabled=False)
    page = context.new_page()
    try:
        _sign_in(page, live_server, "Ошибка даты")
        page.goto(f"{live_server}/submit")
        _fill_report(page)
        page.fill("#forces", "Военные в чёрной форме, БТР")
        page.fill("#date", "2099-01-05")  # in the future: refused
        page.click("#report-form button[type=submit]")
        assert page.locator(".error-summary").count() == 1
        assert page.locator("#step-when .field-error").count() == 1
        assert "Пятого января" in page.locator("#testimony").input_value()
        assert page.locator("#forces").input_value() == "Военные в чёрной форме, БТР"
        assert page.locator("#place").input_value() == "almaty"
        assert page.locator("input[name=categories][value=excessive_force]").is_checked()
        assert page.locator("input[name=consent_contact][value=no]").is_checked()
    finally:
        context.close()
