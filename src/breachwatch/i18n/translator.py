"""Translations and locale-aware formatting for one language: gettext messages from the catalogs in
i18n/locales/<code>/LC_MESSAGES/messages.po (compiled in memory on first use, so the .po files are the only
source), numbers, percentages and dates formatted per CLDR, and country names from CLDR."""

from __future__ import annotations

import datetime as dt
import io
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from .languages import CODES, DEFAULT, Language, language

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a message for translation where it is defined; it is translated where it is shown."""
    return message


def catalog_path(code: str) -> Path:
    """The .po file of a language."""
    return LOCALES / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _translations(code: str) -> NullTranslations:
    if code == DEFAULT:
        return NullTranslations()
    with open(catalog_path(code), "rb") as source:
        catalog = read_po(source, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Translator:
    """Messages, numbers, dates and country names in one language."""

    def __init__(self, lang: Language) -> None:
        self.language = lang
        self.code = lang.code
        self.locale = Locale.parse(lang.code)
        self._t = _translations(lang.code)

    @property
    def tag(self) -> str:
        """The BCP 47 tag, for HTML `lang` attributes and Content-Language."""
        return self.language.tag

    @property
    def direction(self) -> str:
        """"ltr" or "rtl"."""
        return self.language.direction

    def raw_gettext(self, message: str) -> str:
        """The translation of `message`, unformatted (what template engines call)."""
        return self._t.gettext(message)

    def raw_ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural form of a message for `n`, unformatted."""
        return self._t.ngettext(singular, plural, n)

    def gettext(self, message: str, **values: object) -> str:
        """The translation of `message`, with `%(name)s` placeholders filled from `values`."""
        text = self._t.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """The plural form for `n`; `%(num)s` is `n` formatted for the locale unless `values` give it."""
        values.setdefault("num", self.number(n))
        return self._t.ngettext(singular, plural, n) % values

    def number(self, value: float) -> str:
        """A number with the locale's digits and grouping."""
        return format_decimal(value, locale=self.locale, numbering_system="default")

    def percent(self, value: float, digits: int = 1) -> str:
        """A fraction (0.25) as a percentage with up to `digits` decimals."""
        pattern = "#,##0" + ("." + "#" * digits if digits else "") + "%"
        return format_percent(value, pattern, locale=self.locale, numbering_system="default")

    def date(self, value: dt.date) -> str:
        """A date in the locale's long form (16 November 2022)."""
        return format_date(value, "long", locale=self.locale)

    def country(self, region: str) -> str:
        """The country or territory's name for an ISO 3166 code (or the libphonenumber region "001":
        non-geographic numbers); the code itself when CLDR has no name for it."""
        if region == "001":
            return self.gettext("Non-geographic numbers")
        return str(self.locale.territories.get(region.upper(), region))


@cache
def translator(code: str = DEFAULT) -> Translator:
    """The Translator of a catalog id in CODES (DEFAULT for anything else)."""
    return Translator(language(code if code in CODES else DEFAULT))


def country_name(region: str, code: str = DEFAULT) -> str:
    """A country's name in one language (English by default)."""
    return translator(code).country(region)


def alpha2(alpha3: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for an alpha-3 code (CLDR's territory aliases), or None."""
    from babel.core import get_global

    found = get_global("territory_aliases").get(alpha3.upper())
    return found[0] if found and len(found[0]) == 2 and found[0].isalpha() else None
