from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import template

from storefront_crm.formatting import date_format, money_format

register = template.Library()


def _store_language(context: template.Context) -> str:
    store = context.get("store")
    return store.language if store else "en"


@register.simple_tag(takes_context=True)
def money(context: template.Context, amount: Decimal | None, currency: str = "") -> str:
    store = context.get("store")
    return money_format(
        amount, currency or (store.currency if store else "EUR"), _store_language(context)
    )


@register.simple_tag(takes_context=True)
def store_date(context: template.Context, value: date | datetime | None) -> str:
    return date_format(value, _store_language(context))


@register.simple_tag(takes_context=True)
def store_datetime(context: template.Context, value: datetime | None) -> str:
    return date_format(value, _store_language(context), with_time=True)


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: Any) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    return "?" + urlencode(list(params.lists()), doseq=True) if params else "?"
