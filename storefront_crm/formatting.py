"""Money and dates in the store's language and currency, whatever the interface language."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats, timezone, translation

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}
# Where the symbol goes, by language: English writes €1,234.56, German and Italian 1.234,56 €.
SYMBOL_FIRST = {"en": True, "de": False, "it": False}


def money_format(amount: Decimal | int | float | None, currency: str, language: str) -> str:
    if amount is None:
        return ""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    with translation.override(language):
        number = formats.number_format(
            abs(value), decimal_pos=2, use_l10n=True, force_grouping=True
        )
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    sign = "-" if value < 0 else ""
    if SYMBOL_FIRST.get(language, True):
        spacer = " " if len(symbol) > 1 else ""
        return f"{sign}{symbol}{spacer}{number}"
    return f"{sign}{number}\u00a0{symbol}"


def date_format(value: date | datetime | None, language: str, *, with_time: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        if not with_time:
            value = value.date()
    with translation.override(language):
        fmt = "SHORT_DATETIME_FORMAT" if with_time else "SHORT_DATE_FORMAT"
        return formats.date_format(value, fmt, use_l10n=True)
