"""The catalogs: every language has every message of the code (none missing, empty or fuzzy), with the same
placeholders and as many plural forms as the language has; the template is what the code says; languages are
chosen from Accept-Language; population figures come from the shipped data."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from breachwatch.analysis.population import population_of, population_share, populations
from breachwatch.analysis.regions import POPULATION_M
from breachwatch.check.advice import ALL_STEPS, advice_for
from breachwatch.i18n import CODES, LOCALES, catalog_path, country_name, negotiate, supported, translator
from breachwatch.i18n.terms import DATA_CLASSES, STATUSES
from breachwatch.models import DATA_CLASS_BITS, PHONE_NUMBERS, VERIFICATION_STATUSES
from tests.support.paths import ROOT

PACKAGE = ROOT / "src" / "breachwatch"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "raw_gettext": None,
            "raw_ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    method_map = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
    options = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                         "lstrip_blocks": "true"}}
    for _, _, message, _, _ in extract_from_dir(str(PACKAGE), method_map, options, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def _template_messages() -> set[str | tuple[str, str]]:
    with open(LOCALES / "messages.pot", "rb") as source:
        return {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(source) if m.id}


def test_the_template_holds_what_the_code_says() -> None:
    assert _source_messages() == _template_messages(), "run make i18n, then translate what is new"


@pytest.mark.parametrize("code", [c for c in CODES if c != "en"])
def test_every_catalog_is_complete(code: str) -> None:
    with open(catalog_path(code), "rb") as source:
        catalog = read_po(source, locale=code)
    wanted = _template_messages()
    have = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalog if m.id}
    assert sorted(map(str, wanted - set(have))) == [], f"{code}: missing messages"
    for key, message in have.items():
        assert not message.fuzzy, f"{code}: fuzzy {key!r}"
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(f.strip() for f in forms), f"{code}: empty translation of {key!r}"
        if isinstance(key, tuple):
            assert len(forms) == catalog.num_plurals, f"{code}: {key!r} needs {catalog.num_plurals} forms"
            allowed = set(PLACEHOLDER.findall(key[1]))
            for form in forms:  # %(num)s may be spelled out ("one", "two") where the language does
                assert set(PLACEHOLDER.findall(form)) - {"num"} == allowed - {"num"}, (code, key, form)
        else:
            assert sorted(PLACEHOLDER.findall(forms[0])) == sorted(PLACEHOLDER.findall(key)), (code, key)


@pytest.mark.parametrize("code", CODES)
def test_every_language_formats_its_messages(code: str) -> None:
    t = translator(code)
    for n in (0, 1, 2, 3, 11, 100, 1_000_000):
        assert str(n) in t.ngettext("Yes: %(number)s is in %(num)s breach", "Yes: %(number)s is in %(num)s breaches",
                                    n, number="+20", num=str(n)) or code == "ar"
    assert len(advice_for(["Names", "Bios"], t)) == 8
    assert t.country("EG") and t.country("EG") != "EG"


def test_data_classes_and_statuses_are_in_the_catalog() -> None:
    assert (PHONE_NUMBERS, *DATA_CLASS_BITS) == DATA_CLASSES
    assert set(STATUSES) == set(VERIFICATION_STATUSES)
    assert translator("fr").gettext("Names") == "Noms"
    assert {s.because for s in ALL_STEPS if s.because} <= set(DATA_CLASS_BITS)


@pytest.mark.parametrize(("header", "code"), [
    ("ar-EG,ar;q=0.9,en;q=0.8", "ar"), ("zh-TW,zh;q=0.9", "zh_Hant"), ("zh-CN", "zh_Hans"), ("zh-Hant-HK", "zh_Hant"),
    ("pt-BR,pt;q=0.9", "pt"), ("xx-YY, fr;q=0.1", "fr"), ("en;q=0, de", "de"), ("*", "en"), ("", "en"),
    ("in-ID", "id"), ("ms-MY", "ms"), ("ur-PK", "ur"), ("hi-IN", "hi"), ("tr;q=0.5, it;q=0.6", "it"),
])
def test_language_from_accept_language(header: str, code: str) -> None:
    assert negotiate(header) == code


def test_supported_tags() -> None:
    assert supported("AR") == "ar" and supported("zh_Hant") == "zh_Hant" and supported("sw") is None
    assert supported(None) is None and supported("x" * 40) is None


def test_right_to_left_languages() -> None:
    assert {c for c in CODES if translator(c).direction == "rtl"} == {"ar", "ur"}


def test_population_from_the_shipped_world_bank_data() -> None:
    header = (PACKAGE / "analysis" / "data" / "population.csv").read_text().splitlines()[:5]
    assert any("SP.POP.TOTL" in line for line in header) and any("CC BY 4.0" in line for line in header)
    egypt = population_of("EG")
    assert egypt is not None and egypt.people > 100_000_000 and egypt.year >= 2022
    assert population_of("TW") is None and population_share("001", 5) is None
    assert len(populations()) > 200
    assert POPULATION_M["IT"] == pytest.approx(population_of("IT").people / 1e6)  # type: ignore[union-attr]
    assert "TW" not in POPULATION_M and len(POPULATION_M) == len(populations())
    assert country_name("EG") == "Egypt" and country_name("EG", "ar") == "مصر"
