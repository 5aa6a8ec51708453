"""The page for a worried person, in real headless Chromium (Debian's /usr/bin/chromium via Playwright): the
whole subscribe flow against a local SMS gateway and SMTP server, in English and in Arabic; Arabic laid out right
to left with no untranslated text; country names where codes were; axe-core audits of every page in both
languages (no serious or critical violation); and check -> subscribe -> verify by keyboard alone.

With BREACHWATCH_SCREENSHOTS=DIR the English and Arabic pages are also saved there (docs/page-en.png and
docs/page-ar.png are made this way)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from breachwatch.i18n import catalog_path, translator
from tests.support.browser import launched_chromium, require_chromium
from tests.support.http import Server, running_server
from tests.support.notify import Mailbox, body_of, smtp_server
from tests.support.page import SmsGateway, delivery_env

require_chromium()

from axe_playwright_python.sync_playwright import Axe  # noqa: E402 - only once chromium is known
from playwright.sync_api import Browser, Page  # noqa: E402

SCREENSHOTS = os.environ.get("BREACHWATCH_SCREENSHOTS")
LOCALES = {"en": "en-EG", "ar": "ar-EG"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    gateway = SmsGateway().start()
    with smtp_server() as (port, box):
        for srv in running_server(tmp_path_factory.mktemp("page"), environ=delivery_env(gateway, port)):
            yield {"srv": srv, "gateway": gateway, "box": box}
    gateway.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium() as b:
        yield b


def _page(browser: Browser, lang: str, **options: Any) -> Page:
    context = browser.new_context(locale=LOCALES[lang], viewport={"width": 900, "height": 1100}, **options)
    return context.new_page()


def audit(page: Page, what: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    found = Axe().run(page).response["violations"]
    bad = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in found
           if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{what}: {bad}"


def _shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)


def _english_messages() -> list[str]:
    """Every English message of the catalog long enough to be recognised in a page (three words or more)."""
    from babel.messages.pofile import read_po

    with open(catalog_path("ar"), "rb") as source:
        catalog = read_po(source)
    texts = []
    for message in catalog:
        for text in (message.id if isinstance(message.id, tuple) else (message.id,)):
            plain = re.sub(r"%\(\w+\)s", "\0", text)
            texts += [part.strip() for part in plain.split("\0") if len(part.strip().split()) >= 3]
    return texts


def _local(url: str, base_url: str) -> str:
    """A link from an email, on the test server (emails name BREACHWATCH_PUBLIC_URL)."""
    parts = urlsplit(url)
    return f"{base_url}{parts.path}?{parts.query}"


def _confirm_link(box: Mailbox, address: str) -> str:
    text = body_of(box.to(address)[-1])
    found = re.search(r"https?://\S*/confirm\?\S+", text)
    assert found is not None, text
    return found.group(0)


def _check(page: Page, base_url: str, number: str) -> None:
    page.goto(base_url + "/")
    page.fill("#number", number)
    page.click("#check-button")
    page.wait_for_selector("#result section")


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_whole_subscribe_flow_on_the_page(browser: Browser, site: dict[str, Any], lang: str) -> None:
    srv: Server = site["srv"]
    gateway: SmsGateway = site["gateway"]
    t = translator(lang)
    page = _page(browser, lang)
    address = f"person-{lang}@mail.test"
    page.goto(srv.base_url + "/alerts")
    assert page.get_attribute("html", "lang") == lang
    audit(page, f"/alerts ({lang})")
    assert page.input_value("#region") == "EG"  # the browser's locale picks the country
    page.fill("#number", "0" + srv.leaked_eg[3:])
    page.fill("#email", address)
    page.click("#subscribe-button")
    page.wait_for_selector("#verify-form")
    audit(page, f"code form ({lang})")

    sms = gateway.last_to(srv.leaked_eg)
    assert sms["text"] == t.ngettext(
        "Your breachwatch code is %(code)s. It expires in %(num)s minute. Never share it.",
        "Your breachwatch code is %(code)s. It expires in %(num)s minutes. Never share it.", 10,
        code=gateway.code_for(srv.leaked_eg))
    page.fill("#code", gateway.code_for(srv.leaked_eg))
    page.click("#verify-button")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == t.gettext("Your number is confirmed")
    audit(page, f"number confirmed ({lang})")

    page.click(f"text={t.gettext('See or stop these alerts')}")
    page.wait_for_selector("dl.subscription")
    shown = page.inner_text("dl.subscription")
    assert srv.leaked_eg[:6] in shown and srv.leaked_eg not in shown and address in shown
    assert t.language.name in shown
    audit(page, f"subscription page ({lang})")
    manage_url = page.url

    mail = site["box"].to(address)[-1]
    assert str(make_header(decode_header(mail["Subject"]))) == t.gettext("Confirm your breachwatch alerts")
    assert mail["Content-Language"] == t.tag
    page.goto(_local(_confirm_link(site["box"], address), srv.base_url))
    audit(page, f"confirm link page ({lang})")
    page.click("form button")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == t.gettext("Email confirmed")
    audit(page, f"email confirmed ({lang})")

    sub_id = urlsplit(manage_url).path.split("/")[4]
    stored = srv.services.notifier.store.get_subscription(sub_id)
    assert stored is not None and stored.active and stored.language == lang
    page.goto(manage_url)
    page.click("form button")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == t.gettext("Alerts stopped")
    audit(page, f"alerts stopped ({lang})")
    assert srv.services.notifier.store.get_subscription(sub_id) is None
    page.context.close()


def test_arabic_is_right_to_left_and_fully_translated(browser: Browser, site: dict[str, Any]) -> None:
    srv: Server = site["srv"]
    page = _page(browser, "ar")
    english = _english_messages()
    pages = []
    page.goto(srv.base_url + "/")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    # Mirrored: the field's label starts at the right edge of the form.
    label = page.locator("label[for=number]").bounding_box()
    field = page.locator("#number").bounding_box()
    assert label is not None and field is not None and label["x"] + label["width"] >= field["x"] + field["width"] - 2
    pages.append(page.inner_text("body"))
    _check(page, srv.base_url, srv.leaked_eg)
    pages.append(page.inner_text("body"))
    _shot(page, "page-ar.png")
    page.goto(srv.base_url + "/alerts")
    pages.append(page.inner_text("body"))
    page.goto(srv.base_url + "/breaches")
    page.click("#breach-Synth details summary")
    pages.append(page.inner_text("body"))
    for text in pages:
        leftover = [m for m in english if m in text]
        assert leftover == [], leftover
    assert "مصر" in pages[-1]  # Egypt, by its Arabic name
    page.context.close()


def test_country_names_where_codes_were(browser: Browser, site: dict[str, Any]) -> None:
    srv: Server = site["srv"]
    page = _page(browser, "en")
    page.goto(srv.base_url + "/breaches")
    page.click("#breach-Synth details summary")
    rows = page.locator("#breach-Synth tbody th")
    names = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert "Egypt" in names and "Italy" in names and "EG" not in names
    assert "World Bank" in page.inner_text("#breach-Synth .source")
    page.goto(srv.base_url + "/")
    assert page.inner_text("#region option[value=EG]").replace("\u2066", "").replace("\u2069", "") == "Egypt (+20)"
    page.context.close()


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_every_page_passes_axe(browser: Browser, site: dict[str, Any], lang: str) -> None:
    srv: Server = site["srv"]
    page = _page(browser, lang)
    page.goto(srv.base_url + "/")
    audit(page, f"/ ({lang})")
    page.click("details.languages summary")
    audit(page, f"/ with the language list open ({lang})")
    _check(page, srv.base_url, srv.leaked_eg)
    assert page.locator("ol.steps input[type=checkbox]").count() >= 5  # the checklist, with JavaScript
    audit(page, f"leaked result ({lang})")
    if lang == "en":
        _shot(page, "page-en.png")
    _check(page, srv.base_url, srv.clean)
    audit(page, f"clean result ({lang})")
    page.goto(srv.base_url + "/breaches")
    page.click("#breach-Synth details summary")
    audit(page, f"/breaches ({lang})")
    page.goto(srv.base_url + "/api/v1/breaches/Synth/report?format=html")
    audit(page, f"report ({lang})")
    page.context.close()


def test_checklist_ticks_stay_in_the_browser(browser: Browser, site: dict[str, Any]) -> None:
    srv: Server = site["srv"]
    page = _page(browser, "en")
    _check(page, srv.base_url, srv.leaked_eg)
    page.check("#done-sim-swap-pin")
    assert "1 of" in page.inner_text("p.progress")
    _check(page, srv.base_url, srv.leaked_eg)
    assert page.is_checked("#done-sim-swap-pin")  # kept in localStorage, never posted
    assert page.evaluate("localStorage.getItem('breachwatch.steps')") == '{"sim-swap-pin":true}'
    page.context.close()
    no_js = _page(browser, "en", java_script_enabled=False)
    _check(no_js, srv.base_url, srv.leaked_eg)
    assert no_js.locator("ol.steps input").count() == 0 and no_js.locator("ol.steps > li").count() >= 6
    no_js.context.close()


def test_keyboard_only_check_subscribe_verify(browser: Browser, site: dict[str, Any]) -> None:
    srv: Server = site["srv"]
    gateway: SmsGateway = site["gateway"]
    page = _page(browser, "en")
    keys = page.keyboard

    def tab_to(selector: str, limit: int = 40) -> None:
        for _ in range(limit):
            keys.press("Tab")
            if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    page.goto(srv.base_url + "/")
    tab_to("#number")
    keys.type(srv.clean)
    keys.press("Enter")
    page.wait_for_selector("#result section")
    tab_to("p.cta a")
    keys.press("Enter")
    page.wait_for_selector("#subscribe-form")
    tab_to("#number")
    keys.type(srv.clean)
    tab_to("#email")
    keys.type("keys@mail.test")
    keys.press("Enter")
    page.wait_for_selector("#verify-form")
    tab_to("#code")
    keys.type(gateway.code_for(srv.clean))
    keys.press("Enter")
    page.wait_for_selector("text=Your number is confirmed")
    page.context.close()


def test_an_organisation_can_stop_its_alerts_from_the_link(browser: Browser, site: dict[str, Any]) -> None:
    """The organisation's unsubscribe link opens a page whose button works in a real browser (a page sent with
    `Referrer-Policy: no-referrer` makes the browser post with `Origin: null`, which the same-site check refuses)."""
    srv: Server = site["srv"]
    orgs = srv.services.notifier.organisations
    added = orgs.add("Browser Org", [orgs.numbers_from_lines([srv.clean], "numbers")], email="ops@org.test")
    link = orgs.unsubscribe_url(srv.base_url, added.organisation.id)
    page = _page(browser, "en")
    page.goto(link)
    page.click("form button")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Alerts stopped"
    assert orgs.store.organisation_by_id(added.organisation.id) is None
    page.context.close()
