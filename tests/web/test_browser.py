"""The web page in real headless Chromium (Debian's /usr/bin/chromium via Playwright; no browser download):
check a leaked and a clean number by typing and clicking, read the result, save screenshots."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from breachwatch.i18n import country_name
from tests.support.browser import launched_chromium, require_chromium
from tests.support.http import Server, running_server
from tests.support.paths import ARTIFACTS

require_chromium()

from playwright.sync_api import Browser, Page  # noqa: E402 - only once chromium is known


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running_server(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium() as b:
        yield b


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-EG", viewport={"width": 900, "height": 1100})
    page = context.new_page()
    yield page
    context.close()


def _check(page: Page, base_url: str, number: str) -> str:
    page.goto(base_url + "/")
    page.get_by_label("Phone number").fill(number)
    page.get_by_role("button", name="Check").click()
    page.wait_for_selector("#result section")
    return page.inner_text("#result")


def test_leaked_number_in_national_form_with_the_locale_country(page: Page, srv: Server) -> None:
    page.goto(srv.base_url + "/")
    assert page.get_by_label("Country").input_value() == "EG"  # from the browser locale en-EG
    assert "Egypt" in page.inner_text("#region option[value=EG]")
    national = "0" + srv.leaked_eg[3:]
    text = _check(page, srv.base_url, national)
    assert page.get_attribute("#result section", "data-outcome") == "leaked"
    assert f"Yes: {srv.leaked_eg} is in 1 breach" in text
    assert "Synthetic 2022" in text
    for data_class in srv.truth["numbers"][srv.leaked_eg]["data_classes"]:
        assert data_class in text
    assert "What to do now" in text and "two-step verification" in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "check-leaked.png"), full_page=True)


def test_clean_number_by_keyboard(page: Page, srv: Server) -> None:
    page.goto(srv.base_url + "/")
    page.get_by_label("Phone number").focus()
    page.keyboard.type(srv.clean)
    page.keyboard.press("Enter")
    page.wait_for_selector("#result section")
    assert page.get_attribute("#result section", "data-outcome") == "clean"
    assert f"Good news: {srv.clean} is not in any breach" in page.inner_text("#result")
    page.screenshot(path=str(ARTIFACTS / "check-clean.png"), full_page=True)


def test_form_works_without_javascript(browser: Browser, srv: Server) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        text = _check(page, srv.base_url, srv.both)
        assert "is in 2 breaches" in text and "Verified Two" in text
        assert page.get_by_label("Country").input_value() == ""
    finally:
        context.close()


def test_breaches_page_has_charts(page: Page, srv: Server) -> None:
    page.goto(srv.base_url + "/breaches")
    assert page.locator("article.breach").count() == 3
    chart = page.locator("#breach-Synth svg[role=img]")
    assert chart.count() == 1
    top = max(srv.truth["countries"].items(), key=lambda kv: (kv[1], kv[0]))
    assert f"{country_name(top[0])}: {top[1]:,}" in (chart.locator("desc").text_content() or "")
    page.screenshot(path=str(ARTIFACTS / "breaches.png"), full_page=True)


def test_each_breach_links_to_its_report(page: Page, srv: Server) -> None:
    page.goto(srv.base_url + "/breaches")
    page.locator("#breach-Synth").get_by_role("link", name="Full report").click()
    page.wait_for_load_state()
    assert "/api/v1/breaches/Synth/report" in page.url
    body = page.content()
    assert "Synth" in body and ("<img" in body or "<svg" in body)
    page.screenshot(path=str(ARTIFACTS / "report-page.png"), full_page=True)
