"""Localization: the languages breachwatch speaks (gettext catalogs, compiled from .po files), CLDR data
(country and language names, number and date formats, text direction) and how a request's language is chosen.
The only owner of Babel; the page, the advice, emails and SMS texts take their words from here."""

from .languages import CODES, DEFAULT, Language, language, languages, negotiate, supported
from .translator import LOCALES, N_, Translator, alpha2, catalog_path, country_name, translator

__all__ = ["CODES", "DEFAULT", "LOCALES", "N_", "Language", "Translator", "alpha2", "catalog_path",
           "country_name", "language", "languages", "negotiate", "supported", "translator"]
