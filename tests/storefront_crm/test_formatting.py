from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from storefront_crm.formatting import date_format, money_format


def test_money_follows_the_store_language_and_currency():
    assert money_format(Decimal("1234.5"), "EUR", "en") == "€1,234.50"
    assert money_format(Decimal("1234.5"), "EUR", "de") == "1.234,50\u00a0€"
    assert money_format(Decimal("1234.5"), "EUR", "it") == "1.234,50\u00a0€"
    assert money_format(Decimal("-3"), "USD", "en") == "-$3.00"
    assert money_format(None, "EUR", "en") == ""


def test_dates_follow_the_store_language():
    moment = datetime(2026, 3, 7, 15, 30, tzinfo=ZoneInfo("UTC"))
    assert date_format(moment, "de") == "07.03.2026"
    assert date_format(moment, "it") == "07/03/2026"
