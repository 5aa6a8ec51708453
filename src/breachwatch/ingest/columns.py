"""What a dump's columns hold: phone numbers, a country, or a leaked data class (HIBP-style: names, emails,
device information...), from the column's name or, failing that, from sampled values."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ..phone import SUPPORTED_REGIONS, Status, normalize

# Column-name keywords per data class (compared on the lower-cased name with separators removed).
_NAME_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Email addresses", ("email", "mail")),
    ("Profile photos", ("photo", "avatar", "picture", "profilepic", "pic", "image", "img")),
    ("Bios", ("about", "bio", "status", "description", "tagline")),
    ("Device information", ("device", "model", "osversion", "os", "platform", "useragent", "phonemodel",
                            "manufacturer", "brand", "appversion")),
    ("Usernames", ("username", "login", "handle", "nickname", "screenname")),
    ("Names", ("name", "fullname", "firstname", "lastname", "surname", "pushname", "displayname")),
    ("Genders", ("gender", "sex")),
    ("Dates of birth", ("dob", "birth", "birthday", "birthdate")),
    ("Geographic locations", ("city", "location", "address", "state", "province", "zip", "postcode",
                              "latitude", "longitude", "geo")),
    ("IP addresses", ("ip", "ipaddress", "lastip")),
    ("Passwords", ("password", "passwd", "pass", "pwd")),
    ("Employers", ("company", "employer", "organization", "organisation", "workplace")),
    ("Job titles", ("job", "jobtitle", "occupation", "position")),
    ("Social media profiles", ("facebook", "twitter", "instagram", "linkedin", "profileurl", "profile")),
    ("Relationship statuses", ("relationship", "maritalstatus", "marital")),
    ("Account identifiers", ("userid", "uid", "accountid", "id", "fbid")),
)

_PHONE_NAMES = ("phone", "phonenumber", "msisdn", "mobile", "mobilenumber", "cell", "cellphone", "tel",
                "telephone", "number", "whatsapp", "jid", "waid", "wanumber", "contact")
_COUNTRY_NAMES = ("country", "countrycode", "cc", "region", "iso", "iso2", "nation", "countryiso")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^https?://", re.IGNORECASE)
_IMAGE_URL = re.compile(r"(\.(jpe?g|png|gif|webp)(\?|$))|pps\.whatsapp\.net|/photo|/avatar|/pic", re.IGNORECASE)
_IPV4 = re.compile(r"^(\d{1,3}\.){3}\d{1,3}$")
# Shapes of values in headerless dumps (no column name to go by).
_GENDERS = frozenset({"male", "female", "m", "f", "man", "woman", "other", "homme", "femme", "masculino",
                      "femenino", "maschio", "femmina", "nonbinary", "non-binary"})
_RELATIONSHIPS = frozenset({"single", "married", "engaged", "divorced", "widowed", "separated",
                            "in a relationship", "it's complicated", "in an open relationship",
                            "in a civil union", "in a domestic partnership"})
_DATE = re.compile(r"^(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{1,2}-\d{1,2})([ T]\d{1,2})?\b")
_ACCOUNT_ID = re.compile(r"^\d{5,20}$")
_WORD = r"[^\W\d_][^\W\d_'.-]*(?:['.-][^\W\d_]+)*\.?"
_PERSON_NAME = re.compile(rf"^{_WORD}(?: {_WORD}){{0,3}}$")
_PLACE = re.compile(rf"^{_WORD}(?: {_WORD}){{0,4}}(?:, ?{_WORD}(?: {_WORD}){{0,4}}){{1,2}}$")
_EMPLOYER_WORDS = frozenset({"ltd", "inc", "llc", "plc", "gmbh", "sa", "spa", "srl", "bhd", "sdn", "co",
                             "company", "group", "bank", "university", "school", "hospital", "corporation",
                             "corp", "telecom", "holding", "holdings", "ministry", "agency"})


def squash(column: str) -> str:
    """A column name lower-cased with separators removed, for keyword matching."""
    last = column.rsplit(".", 1)[-1]  # nested JSON keys: user.profile.photo -> photo
    return re.sub(r"[^a-z0-9]", "", last.lower())


def is_phone_column_name(column: str) -> bool:
    """True when the name says the column holds phone numbers."""
    return squash(column) in _PHONE_NAMES


def is_country_column_name(column: str) -> bool:
    """True when the name says the column holds a country."""
    return squash(column) in _COUNTRY_NAMES


def class_from_name(column: str) -> str | None:
    """The data class a column name implies, or None."""
    name = squash(column)
    if not name:
        return None
    for data_class, keywords in _NAME_KEYWORDS:
        if name in keywords:
            return data_class
    for data_class, keywords in _NAME_KEYWORDS:
        if any(len(k) >= 4 and k in name for k in keywords):
            return data_class
    return None


def class_from_values(values: Sequence[str]) -> str | None:
    """The data class a column's sampled values imply (emails, photo URLs, IP addresses), or None."""
    present = [v.strip() for v in values if v and v.strip()]
    if len(present) < 3:
        return None
    def share(pattern: re.Pattern[str]) -> float:
        return sum(1 for v in present if pattern.search(v)) / len(present)
    if share(_EMAIL) >= 0.6:
        return "Email addresses"
    if share(_URL) >= 0.6:
        return "Profile photos" if share(_IMAGE_URL) >= 0.5 else "Social media profiles"
    if share(_IPV4) >= 0.6:
        return "IP addresses"
    return None


def class_from_shapes(values: Sequence[str]) -> str | None:
    """The data class the shapes of a headerless column's sampled values imply (genders, relationship
    statuses, dates, account identifiers, places, employers, names, besides `class_from_values`), or None.
    Used only where there is no column name to go by: a word is a name only for want of a better reading."""
    found = class_from_values(values)
    if found is not None:
        return found
    present = [v.strip() for v in values if v and v.strip()]
    if len(present) < 3:
        return None
    lowered = [v.lower() for v in present]
    def share(test: Callable[[str], bool], texts: Sequence[str] = present) -> float:
        return sum(1 for v in texts if test(v)) / len(texts)
    if share(lambda v: v in _GENDERS, lowered) >= 0.9:
        return "Genders"
    if share(lambda v: v in _RELATIONSHIPS, lowered) >= 0.9:
        return "Relationship statuses"
    if share(lambda v: _DATE.match(v) is not None) >= 0.8:
        return "Dates of birth"
    if share(lambda v: _ACCOUNT_ID.match(v) is not None) >= 0.9:
        return "Account identifiers"
    if share(lambda v: _PLACE.match(v) is not None) >= 0.6:
        return "Geographic locations"
    if share(lambda v: bool(_EMPLOYER_WORDS.intersection(re.split(r"[\s.,]+", v))), lowered) >= 0.5:
        return "Employers"
    if share(lambda v: _PERSON_NAME.match(v) is not None and v[:1].isupper()) >= 0.8:
        return "Names"
    return None


def looks_like_number(cell: str) -> bool:
    """Whether a cell holds enough digits to be a phone number (a header row has no such cell)."""
    return sum(ch.isdigit() for ch in cell) >= 7


def detect_phone_column(columns: tuple[str, ...], samples: dict[str, list[str]]) -> str | None:
    """The column of phone numbers: the one so named, else the (named) column whose sampled values read
    best as numbers (at least 30% of them), or None."""
    named = [c for c in columns if is_phone_column_name(c)]
    if len(named) == 1:
        return named[0]
    best, best_share = None, 0.0
    for col in named or list(columns):
        values = [v for v in samples.get(col, [])[:200] if v.strip()]
        if not values:
            continue
        ok = sum(1 for v in values if looks_like_number(v) and normalize(v).status != Status.REJECTED)
        share = ok / len(values)
        if share > best_share:
            best, best_share = col, share
    return best if best_share >= 0.3 else (named[0] if named else None)


def detect_country_column(columns: tuple[str, ...], samples: dict[str, list[str]], exclude: str) -> str | None:
    """The first column named as a country whose sampled values are region codes (80% of them), or None."""
    for col in columns:
        if col == exclude or not is_country_column_name(col):
            continue
        values = [v.strip().upper() for v in samples.get(col, []) if v.strip()]
        if values and sum(v in SUPPORTED_REGIONS for v in values) / len(values) >= 0.8:
            return col
    return None


def detect_class_columns(columns: tuple[str, ...], samples: dict[str, list[str]],
                         exclude: tuple[str | None, ...], named: bool = True) -> dict[str, str]:
    """{column: data class} for the columns (other than `exclude`) whose name or values imply one; where the
    columns are not `named` (a headerless dump), from the shapes of their values alone."""
    found: dict[str, str] = {}
    for col in columns:
        if col in exclude:
            continue
        values = samples.get(col, [])
        data_class = (class_from_name(col) or class_from_values(values)) if named else class_from_shapes(values)
        if data_class is not None:
            found[col] = data_class
    return found
