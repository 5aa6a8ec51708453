"""The languages breachwatch speaks, and which one a person gets: from an explicit choice (the page's language
picker) or the browser's Accept-Language header, else English. Names and text direction come from CLDR."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from babel import Locale

#: gettext locale ids of the catalogs under i18n/locales/, English (the source language) first.
CODES: tuple[str, ...] = ("en", "ar", "de", "es", "fr", "hi", "id", "it", "ms", "nl", "pt", "ru", "tr", "ur",
                          "zh_Hans", "zh_Hant")
DEFAULT = "en"
#: Regions whose Chinese is written in traditional characters.
_TRADITIONAL = frozenset({"TW", "HK", "MO"})
#: Old or alternative language subtags browsers still send.
_ALIASES = {"in": "id", "zsm": "ms", "iw": "he"}


@dataclass(frozen=True)
class Language:
    """One supported language: its catalog id, BCP 47 tag (for `lang=`), own name and text direction."""

    code: str
    tag: str
    name: str
    direction: str  # "ltr" or "rtl"


@cache
def language(code: str) -> Language:
    """The Language of a catalog id in CODES."""
    locale = Locale.parse(code)
    name = locale.get_display_name(locale) or code
    return Language(code, code.replace("_", "-"), name[:1].upper() + name[1:], locale.text_direction)


def languages() -> list[Language]:
    """Every supported language, in CODES order."""
    return [language(code) for code in CODES]


def supported(tag: str | None) -> str | None:
    """The catalog id for a language tag ("ar", "ar-EG", "zh-TW", "zh_Hant", "PT-br"), or None when breachwatch
    does not speak it."""
    if not tag:
        return None
    parts = [p for p in tag.strip().replace("_", "-").split("-") if p]
    if not parts or len(parts[0]) > 8:
        return None
    primary = parts[0].lower()
    primary = _ALIASES.get(primary, primary)
    rest = {p.title() if len(p) == 4 else p.upper() for p in parts[1:]}
    if primary == "zh":
        return "zh_Hant" if "Hant" in rest or rest & _TRADITIONAL else "zh_Hans"
    return primary if primary in CODES else None


def negotiate(accept_language: str | None) -> str:
    """The catalog id that best answers an Accept-Language header (RFC 9110 weights), else DEFAULT."""
    wanted: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "")[:1024].split(",")):
        tag, _, params = item.partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0:
            wanted.append((-weight, position, tag.strip()))
    for _, _, tag in sorted(wanted):
        found = supported(tag)
        if found is not None:
            return found
    return DEFAULT
