"""Countries: ISO 3166-1 codes and names, from django-countries (names translated in every
language Django ships) and pycountry (ISO's official names, "Korea, Republic of"), and
reading a country as merchants' files write it.

A file from another platform may name a country by its alpha-2 or alpha-3 code, by its
English, German or Italian name (with or without accents), in WooCommerce's "United
States (US)" form, or by a common short form ("USA", "UK", "Holland"). All of them read
as the alpha-2 code we store.
"""

import re
import unicodedata
from functools import cache

import pycountry
from django.utils import translation
from django_countries import countries
from django_countries.data import COUNTRIES

# Languages whose names files use (our merchants', their neighbours' and the platforms').
FILE_LANGUAGES = ("en", "de", "it", "fr", "es")
# Short forms that no name list holds but real files carry.
SHORT_FORMS = {
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "the netherlands": "NL",
    "uae": "AE",
    "south korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "czech republic": "CZ",
    "vatican": "VA",
    "vatican city": "VA",
    "ivory coast": "CI",
    "turkey": "TR",
    "türkei": "TR",
    "repubblica ceca": "CZ",
    "inghilterra": "GB",
    "olanda": "NL",
    "stati uniti d'america": "US",
    "stati uniti": "US",
    "vereinigte staaten": "US",
    "turchia": "TR",
    "korea": "KR",
}
# German umlauts as plain-ASCII files write them: "Oesterreich".
UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
# "United States (US)": a name with its code in brackets (WooCommerce's reports).
NAME_WITH_CODE = re.compile(r"^(?P<name>.*?)\s*\((?P<code>[A-Za-z]{2,3})\)$")
# Codes files use that ISO does not (or no longer) assign: the United Kingdom as "UK".
CODE_ALIASES = {"UK": "GB", "EL": "GR"}

COUNTRY_CODES = frozenset(COUNTRIES)


def _folded(text: str) -> str:
    """Lower case, accents and spacing folded: "Österreich " and "osterreich" match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.replace("’", "'").split())


@cache
def _codes_by_name() -> dict[str, str]:
    names: dict[str, str] = {}
    for language in FILE_LANGUAGES:
        with translation.override(language):
            for code, name in countries:
                names.setdefault(_folded(str(name)), code)
                names.setdefault(_folded(str(name).lower().translate(UMLAUTS)), code)
    for code, name in COUNTRIES.items():
        names.setdefault(_folded(str(name)), code)
    for country in pycountry.countries:  # ISO's official and common English names
        for attribute in ("name", "official_name", "common_name"):
            if name := getattr(country, attribute, None):
                names.setdefault(_folded(name), country.alpha_2)
    for code, name in {**countries.OLD_NAMES, **countries.COMMON_NAMES}.items():
        if isinstance(name, str) and code in COUNTRY_CODES:
            names.setdefault(_folded(name), code)
    for name, code in SHORT_FORMS.items():
        names.setdefault(_folded(name), code)
    return names


def _code(text: str) -> str | None:
    upper = text.upper()
    upper = CODE_ALIASES.get(upper, upper)
    if len(upper) == 2:
        return upper if upper in COUNTRY_CODES else None
    if len(upper) == 3 and upper.isalpha():
        code = countries.alpha2(upper)
        return code or None
    return None


def country_code(text: str) -> str | None:
    """The alpha-2 code of a country as a file writes it, or None when it names none."""
    text = " ".join(text.split())
    if not text:
        return None
    if (code := _code(text)) is not None:
        return code
    if match := NAME_WITH_CODE.match(text):
        code = _code(match["code"])
        by_name = _codes_by_name().get(_folded(match["name"]))
        if code is not None and (by_name is None or by_name == code):
            return code
        if by_name is not None:
            return by_name
        return code
    return _codes_by_name().get(_folded(text))


def country_name(code: str) -> str:
    """The country's name in the active language; "" for an unknown code."""
    code = (code or "").upper()
    return str(countries.name(code)) if code in COUNTRY_CODES else ""
