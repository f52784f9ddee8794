"""Every country value a real export carries imports as its ISO code: one test per form.

WooCommerce's Customers report writes "United States (US)"; Shopify writes codes;
Squarespace and Ecwid names in the shop's language; merchants' own files anything from
"DEU" to "Deutschland" to "UK". The names come from django-countries and pycountry
(``customers.countries``), not from a table of our own.
"""

import io

import pytest

from customers.countries import country_code, country_name
from customers.io.importer import ImportOptions, customers_import
from customers.models import Customer

pytestmark = pytest.mark.django_db

# WooCommerce's Customers report, as its export writes it.
HEADER = (
    "Name,Username,Last active,Date registered,Email,Orders,Total spend,AOV,"
    "Country / Region,City,Region,Postal code\n"
)


def _row(country: str) -> str:
    return f'Ann Example,ann,2024-02-01,2021-12-17,ann@example.org,1,25.00,25.00,"{country}",,,\n'


def imported_country(store, value: str) -> str:
    result, _report = customers_import(
        store=store,
        source=io.BytesIO((HEADER + _row(value)).encode()),
        options=ImportOptions(format_name="woocommerce", on_error="abort"),
    )
    assert result.format_name == "woocommerce" and result.error_count == 0, result.errors
    return Customer.objects.get(store=store, email="ann@example.org").country


def test_woocommerce_name_with_code_in_brackets(store):
    assert imported_country(store, "United States (US)") == "US"


def test_woocommerce_united_kingdom_written_uk_in_brackets(store):
    assert imported_country(store, "United Kingdom (UK)") == "GB"


def test_woocommerce_netherlands_with_code(store):
    assert imported_country(store, "Netherlands (NL)") == "NL"


def test_alpha_2_code_any_case(store):
    assert imported_country(store, "de") == "DE"


def test_alpha_3_code(store):
    assert imported_country(store, "AUT") == "AT"


def test_english_name(store):
    assert imported_country(store, "Switzerland") == "CH"


def test_german_name_with_umlaut(store):
    assert imported_country(store, "Österreich") == "AT"


def test_german_name_written_without_umlaut(store):
    assert imported_country(store, "Oesterreich") == "AT"


def test_german_name_without_accents(store):
    assert imported_country(store, "Osterreich") == "AT"


def test_italian_name(store):
    assert imported_country(store, "Germania") == "DE"


def test_italian_name_with_accent_folded(store):
    assert imported_country(store, "Sao Tome e Principe") == "ST"  # "São Tomé e Príncipe"


def test_official_iso_name(store):
    assert imported_country(store, "Korea, Republic of") == "KR"


def test_short_forms(store):
    assert [country_code(v) for v in ("USA", "UK", "Deutschland", "Holland", "U.S.A.")] == [
        "US",
        "GB",
        "DE",
        "NL",
        "US",
    ]


def test_spacing_and_letter_case_do_not_matter(store):
    assert imported_country(store, "  united   KINGDOM ") == "GB"


def test_an_unknown_country_is_a_row_problem_naming_it(store):
    result, _report = customers_import(
        store=store,
        source=io.BytesIO((HEADER + _row("Atlantis")).encode()),
        options=ImportOptions(format_name="woocommerce", on_error="skip"),
    )
    assert not Customer.objects.filter(store=store).exists()
    assert result.error_count == 1
    assert "Unknown country “Atlantis”." in str(result.errors)


def test_a_name_whose_bracket_contradicts_it_trusts_the_name(store):
    # "Georgia (GE)" is the country; a US state would not carry a country code.
    assert country_code("Georgia (GE)") == "GE"
    assert country_code("Atlantis (XX)") is None


def test_names_for_people_follow_the_interface_language():
    from django.utils import translation

    with translation.override("de"):
        assert country_name("AT") == "Österreich"
    with translation.override("it"):
        assert country_name("DE") == "Germania"
    assert country_name("XX") == ""
