"""Debian's Chromium for the page tests: skip a module (or fail, when services are required) where it is missing,
and launch it headless through Playwright without a browser download."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]


def require_chromium() -> None:
    """Skip the calling test module when Chromium is missing; fail instead under BREACHWATCH_REQUIRE_SERVICES=1
    (CI installs it, so a missing browser there is an error, not a skip)."""
    if CHROMIUM.exists():
        return
    if os.environ.get("BREACHWATCH_REQUIRE_SERVICES") == "1":
        raise RuntimeError(f"{CHROMIUM} is missing and BREACHWATCH_REQUIRE_SERVICES=1 (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed (Debian package 'chromium')", allow_module_level=True)


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Headless Chromium, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()
