"""The customer list's table head and rows, built in Python.

Rendering 50 rows through the template engine (a variable lookup per cell, ``{% money %}`` /
``{% store_date %}`` tags that switch the active language for every value) cost many times
the query that reads them; here each row is one f-string of escaped values, with the
labels translated and the store's number and date formats looked up once per request.
"""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django.utils import dateformat, formats, numberformat, timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from storefront_crm.formatting import CURRENCY_SYMBOLS, SYMBOL_FIRST

from ..models import AccountType
from ..selectors import CustomerRow

CENT = Decimal("0.01")
# dateformat specifiers whose output is words of the active language (month, weekday, a.m.)
LANGUAGE_DEPENDENT_DATE_SPECIFIERS = frozenset("aAbDEFlMNP")


class StoreFormatter:
    """Money and dates in the store's language and currency, exactly as
    ``storefront_crm.formatting.money_format`` / ``date_format`` write them, with the
    locale's separators and date format looked up once instead of per value."""

    def __init__(self, *, language: str, currency: str) -> None:
        self.language = language
        self.symbol = CURRENCY_SYMBOLS.get(currency, currency)
        self.symbol_first = SYMBOL_FIRST.get(language, True)
        self.decimal_separator = formats.get_format("DECIMAL_SEPARATOR", language, use_l10n=True)
        self.thousand_separator = formats.get_format("THOUSAND_SEPARATOR", language, use_l10n=True)
        self.grouping = formats.get_format("NUMBER_GROUPING", language, use_l10n=True)
        self.short_date = formats.get_format("SHORT_DATE_FORMAT", language, use_l10n=True)
        self.date_needs_language = bool(LANGUAGE_DEPENDENT_DATE_SPECIFIERS & set(self.short_date))
        self.numeric_date = _numeric_date_pattern(self.short_date)
        # Groups of three (every shipped language): Python's own "," grouping, with the
        # locale's separators swapped in, instead of numberformat per amount.
        self.separators = (
            str.maketrans({",": self.thousand_separator, ".": self.decimal_separator})
            if self.grouping == 3
            else None
        )
        self.time_zone = timezone.get_current_timezone()  # the store's, in a panel request

    def money(self, amount: Decimal | int | float | None) -> str:
        if amount is None:
            return ""
        value = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
        if self.separators is not None:
            number = f"{abs(value):,.2f}".translate(self.separators)
        else:
            number = numberformat.format(
                abs(value),
                self.decimal_separator,
                decimal_pos=2,
                grouping=self.grouping,
                thousand_sep=self.thousand_separator,
                force_grouping=True,
                use_l10n=True,
            )
        sign = "-" if value < 0 else ""
        if self.symbol_first:
            spacer = " " if len(self.symbol) > 1 else ""
            return f"{sign}{self.symbol}{spacer}{number}"
        return f"{sign}{number}\u00a0{self.symbol}"

    def date(self, value: date | datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(self.time_zone)
            value = value.date()
        if self.numeric_date is not None:
            return self.numeric_date.format(d=value.day, m=value.month, y=value.year)
        if self.date_needs_language:
            with translation.override(self.language):
                return dateformat.format(value, self.short_date)
        return dateformat.format(value, self.short_date)


# dateformat specifiers of a purely numeric date, as str.format fields (``d.m.Y`` of de,
# ``m/d/Y`` of en): formatting 100 dates per page this way skips building a DateFormat each.
NUMERIC_DATE_FIELDS = {
    "d": "{d:02d}",
    "j": "{d}",
    "m": "{m:02d}",
    "n": "{m}",
    "Y": "{y:04d}",
}


def _numeric_date_pattern(date_format: str) -> str | None:
    """``date_format`` as a ``str.format`` pattern, or None when it has anything beyond
    numeric day, month, year, separators and backslash escapes."""
    parts, escaped = [], False
    for char in date_format:
        if escaped:
            parts.append(char.replace("{", "{{").replace("}", "}}"))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in NUMERIC_DATE_FIELDS:
            parts.append(NUMERIC_DATE_FIELDS[char])
        elif char.isalpha():
            return None  # names, weekdays, times, two-digit years: leave them to dateformat
        else:
            parts.append(char.replace("{", "{{").replace("}", "}}"))
    return "".join(parts)


def customer_rows_html(
    customers: Iterable[CustomerRow],
    *,
    formatter: StoreFormatter,
    customer_url_prefix: str,
    orders_url: str,
    selectable: bool,
) -> SafeString:
    """The ``<tr>`` of each customer (columns as in the list's ``<thead>``); every value
    from the database is escaped. A tag links to the list of the customers who have it
    (``customer_url_prefix`` is the list's own URL)."""
    # Translated outside the f-strings: xgettext does not look inside them.
    select_label = gettext("Select %(name)s")
    orders_title = escape(gettext("Show this customer's orders"))
    never, blocked, inactive = gettext("never"), gettext("blocked"), gettext("inactive")
    subscribed, no = gettext("subscribed"), gettext("no")
    never = f'<span class="muted">{escape(never)}</span>'
    blocked = f' <span class="badge warn">{escape(blocked)}</span>'
    inactive = f' <span class="badge">{escape(inactive)}</span>'
    subscribed = f'<span class="badge ok">{escape(subscribed)}</span>'
    not_subscribed = f'<span class="muted">{escape(no)}</span>'
    account_labels = {value: escape(str(label)) for value, label in AccountType.choices}
    customer_url_prefix, orders_url = escape(customer_url_prefix), escape(orders_url)
    money, day = formatter.money, formatter.date
    rows = []
    for customer in customers:
        pk = customer.pk
        url = f"{customer_url_prefix}{pk}/"
        select = (
            f'<td><input type="checkbox" name="ids" value="{pk}" form="bulk-form" '
            f'aria-label="{escape(select_label % {"name": customer})}"></td>'
            if selectable
            else ""
        )
        tags = "".join(
            f'<a class="badge" href="{customer_url_prefix}?tag={tag_id}">{escape(name)}</a>'
            for tag_id, name in customer.tag_pairs
        )
        last_order = day(customer.last_order_at) if customer.last_order_at else never
        account = account_labels.get(customer.account_type) or escape(customer.account_type)
        rows.append(
            f"<tr>{select}"
            f'<td class="name"><a href="{url}">{escape(customer.full_name) or "—"}</a></td>'
            f'<td><a href="{url}">{escape(customer.email)}</a></td>'
            f"<td>{escape(customer.group_name)}</td>"
            f'<td class="wrap">{tags}</td>'
            f'<td class="num"><a href="{orders_url}?customer={pk}" title="{orders_title}">'
            f"{customer.orders_count}</a></td>"
            f'<td class="num">{escape(money(customer.total_spent))}</td>'
            f"<td>{last_order}</td>"
            f"<td>{day(customer.customer_since)}</td>"
            f"<td>{account}{blocked if customer.is_blocked else ''}"
            f"{'' if customer.is_active else inactive}</td>"
            f"<td>{subscribed if customer.accepts_marketing else not_subscribed}</td>"
            "</tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value above is escaped


# Sortable columns right-aligned like their numbers.
NUMERIC_COLUMNS = frozenset({"orders", "spent"})


def customer_head_html(sort_headers: list[dict], *, selectable: bool) -> SafeString:
    """The ``<tr>`` of the table head: the columns of ``customer_rows_html``, the sortable
    ones linking to their next sort (``sort_headers`` of the view, in order)."""
    select_all, group, tags = gettext("Select all on this page"), gettext("Group"), gettext("Tags")
    account, marketing = gettext("Account"), gettext("Marketing")
    cells = [
        f'<th scope="col"><input type="checkbox" class="select-page" '
        f'aria-label="{escape(select_all)}" title="{escape(select_all)}"></th>'
        if selectable
        else ""
    ]
    arrows = {"ascending": " ↑", "descending": " ↓", None: ""}
    for index, header in enumerate(sort_headers):
        if index == 2:
            cells.append(f'<th scope="col">{escape(group)}</th>')
            cells.append(f'<th scope="col">{escape(tags)}</th>')
        state = header["aria_sort"]
        attributes = f' aria-sort="{state}"' if state else ""
        if header["key"] in NUMERIC_COLUMNS:
            attributes += ' class="num"'
        elif header["key"] == "name":
            attributes += ' class="name"'
        cells.append(
            f'<th scope="col"{attributes}><a href="{escape(header["url"])}">'
            f"{escape(str(header['label']))}{arrows[state]}</a></th>"
        )
    cells.append(f'<th scope="col">{escape(account)}</th>')
    cells.append(f'<th scope="col">{escape(marketing)}</th>')
    return mark_safe(f"<tr>{''.join(cells)}</tr>")  # noqa: S308 - every value is escaped
