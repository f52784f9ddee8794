"""The customer list's table head and rows, built in Python.

Rendering 50 rows through the template engine (a variable lookup per cell, ``{% money %}`` /
``{% store_date %}`` tags that switch the active language for every value) cost many times
the query that reads them; here each row is one f-string of escaped values, with the
labels translated and the store's number and date formats looked up once per request.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import Any

from django.utils import dateformat, formats, numberformat, timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy

from storefront_crm.formatting import CURRENCY_SYMBOLS, SYMBOL_FIRST

from ..conditions import ISO_DATE
from ..countries import country_name
from ..models import AccountType, CustomerSource
from ..selectors import CustomerRow
from ..services.list_columns import CUSTOM_FIELD_COLUMN, LIST_COLUMN_KEYS

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

    def date_time(self, value: datetime) -> str:
        """The date as ``date`` writes it and the time of day in the store's zone."""
        local = value.astimezone(self.time_zone) if value.tzinfo is not None else value
        return f"{self.date(local)} {local:%H:%M}"


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


@dataclass(frozen=True)
class ListColumn:
    """A column the list can show: its header, the sort it links to, how it aligns."""

    label: Any
    sort: str | None = None  # a key of ``customers.selectors.SORTS``
    css: str = ""


LIST_COLUMNS: dict[str, ListColumn] = {
    "name": ListColumn(gettext_lazy("Name"), sort="name", css="name"),
    "email": ListColumn(gettext_lazy("Email"), sort="email"),
    "phone": ListColumn(gettext_lazy("Phone")),
    "country": ListColumn(gettext_lazy("Country")),
    "city": ListColumn(gettext_lazy("City")),
    "group": ListColumn(gettext_lazy("Group")),
    "tags": ListColumn(gettext_lazy("Tags"), css="wrap"),
    "orders": ListColumn(gettext_lazy("Orders"), sort="orders", css="num"),
    "spent": ListColumn(gettext_lazy("Total spent"), sort="spent", css="num"),
    "aov": ListColumn(gettext_lazy("Average order value"), css="num"),
    "first_order": ListColumn(gettext_lazy("First order")),
    "last_order": ListColumn(gettext_lazy("Last order"), sort="last_order"),
    "since": ListColumn(gettext_lazy("Customer since"), sort="since"),
    "since_time": ListColumn(gettext_lazy("Customer since (with time)"), sort="since"),
    "marketing": ListColumn(gettext_lazy("Marketing")),
    "account": ListColumn(gettext_lazy("Account")),
    "source": ListColumn(gettext_lazy("Came from")),
}
assert set(LIST_COLUMNS) == set(LIST_COLUMN_KEYS)


def column_label(column: str, custom_fields: dict[str, tuple[str, str]]) -> str:
    if column.startswith(CUSTOM_FIELD_COLUMN):
        return custom_fields[column[len(CUSTOM_FIELD_COLUMN) :]][0]
    return str(LIST_COLUMNS[column].label)


def customer_rows_html(
    customers: Iterable[CustomerRow],
    *,
    columns: Sequence[str],
    custom_fields: dict[str, tuple[str, str]],
    formatter: StoreFormatter,
    customer_url_prefix: str,
    orders_url: str,
    selectable: bool,
) -> SafeString:
    """The ``<tr>`` of each customer, one cell per column of ``columns`` (as in the list's
    ``<thead>``); every value from the database is escaped. A tag links to the list of the
    customers who have it (``customer_url_prefix`` is the list's own URL). ``custom_fields``:
    ``{key: (label, type)}`` of the store's fields that columns may name."""
    # Translated outside the f-strings: xgettext does not look inside them.
    select_label = gettext("Select %(name)s")
    orders_title = escape(gettext("Show this customer's orders"))
    never, blocked, inactive = gettext("never"), gettext("blocked"), gettext("inactive")
    subscribed, no, yes = gettext("subscribed"), gettext("no"), gettext("yes")
    never = f'<span class="muted">{escape(never)}</span>'
    blocked = f' <span class="badge warn">{escape(blocked)}</span>'
    inactive = f' <span class="badge">{escape(inactive)}</span>'
    subscribed = f'<span class="badge ok">{escape(subscribed)}</span>'
    not_subscribed = f'<span class="muted">{escape(no)}</span>'
    account_labels = {value: escape(str(label)) for value, label in AccountType.choices}
    source_labels = {value: escape(str(label)) for value, label in CustomerSource.choices}
    customer_url_prefix, orders_url = escape(customer_url_prefix), escape(orders_url)
    money, day = formatter.money, formatter.date
    countries: dict[str, str] = {}

    def country(code: str) -> str:
        if code not in countries:
            countries[code] = escape(country_name(code) or code)
        return countries[code]

    def custom(value: Any, field_type: str) -> str:
        if value in (None, ""):
            return ""
        if field_type == "boolean" or isinstance(value, bool):
            return escape(
                yes if value is True or str(value).lower() in {"true", "yes", "1"} else no
            )
        if field_type == "date" and isinstance(value, str) and ISO_DATE.fullmatch(value):
            return escape(day(date.fromisoformat(value)))
        return escape(str(value))

    cells: dict[str, Callable[[CustomerRow], str]] = {
        "name": lambda c: (
            f'<td class="name"><a href="{customer_url_prefix}{c.pk}/">'
            f"{escape(c.full_name) or '—'}</a></td>"
        ),
        "email": lambda c: f'<td><a href="{customer_url_prefix}{c.pk}/">{escape(c.email)}</a></td>',
        "phone": lambda c: f"<td>{escape(c.phone)}</td>",
        "country": lambda c: f"<td>{country(c.country) if c.country else ''}</td>",
        "city": lambda c: f"<td>{escape(c.city)}</td>",
        "group": lambda c: f"<td>{escape(c.group_name)}</td>",
        "tags": lambda c: '<td class="wrap">{}</td>'.format(
            "".join(
                f'<a class="badge" href="{customer_url_prefix}?tag={tag_id}">{escape(name)}</a>'
                for tag_id, name in c.tag_pairs
            )
        ),
        "orders": lambda c: (
            f'<td class="num"><a href="{orders_url}?customer={c.pk}" title="{orders_title}">'
            f"{c.orders_count}</a></td>"
        ),
        "spent": lambda c: f'<td class="num">{escape(money(c.total_spent))}</td>',
        "aov": lambda c: '<td class="num">{}</td>'.format(
            escape(money(c.total_spent / c.orders_count)) if c.orders_count else ""
        ),
        "first_order": lambda c: f"<td>{day(c.first_order_at) if c.first_order_at else never}</td>",
        "last_order": lambda c: f"<td>{day(c.last_order_at) if c.last_order_at else never}</td>",
        "since": lambda c: f"<td>{day(c.customer_since)}</td>",
        "since_time": lambda c: f"<td>{escape(formatter.date_time(c.customer_since))}</td>",
        "marketing": lambda c: f"<td>{subscribed if c.accepts_marketing else not_subscribed}</td>",
        "account": lambda c: (
            f"<td>{account_labels.get(c.account_type) or escape(c.account_type)}"
            f"{blocked if c.is_blocked else ''}{'' if c.is_active else inactive}</td>"
        ),
        "source": lambda c: f"<td>{source_labels.get(c.source) or escape(c.source)}</td>",
    }
    for column in columns:
        if column.startswith(CUSTOM_FIELD_COLUMN):
            key = column[len(CUSTOM_FIELD_COLUMN) :]
            field_type = custom_fields[key][1]
            css = ' class="num"' if field_type == "number" else ""
            cells[column] = lambda c, key=key, field_type=field_type, css=css: (
                f"<td{css}>{custom(c.custom_fields.get(key), field_type)}</td>"
            )
    row_cells = [cells[column] for column in columns]
    rows = []
    for customer in customers:
        select = (
            f'<td><input type="checkbox" name="ids" value="{customer.pk}" form="bulk-form" '
            f'aria-label="{escape(select_label % {"name": customer})}"></td>'
            if selectable
            else ""
        )
        rows.append(f"<tr>{select}{''.join(cell(customer) for cell in row_cells)}</tr>")
    return mark_safe("\n".join(rows))  # noqa: S308 - every value above is escaped


def customer_head_html(
    columns: Sequence[str],
    *,
    custom_fields: dict[str, tuple[str, str]],
    sort_links: dict[str, tuple[str, str | None]],
    selectable: bool,
) -> SafeString:
    """The ``<tr>`` of the table head: the columns of ``customer_rows_html``, the sortable
    ones linking to their next sort (``sort_links``: sort key -> (URL, aria-sort state))."""
    select_all = gettext("Select all on this page")
    cells = [
        f'<th scope="col"><input type="checkbox" class="select-page" '
        f'aria-label="{escape(select_all)}" title="{escape(select_all)}"></th>'
        if selectable
        else ""
    ]
    arrows = {"ascending": " ↑", "descending": " ↓", None: ""}
    for column in columns:
        spec = LIST_COLUMNS.get(column)
        label = escape(column_label(column, custom_fields))
        numeric = spec is None and custom_fields[column[len(CUSTOM_FIELD_COLUMN) :]][1] == "number"
        css = spec.css if spec is not None else ("num" if numeric else "")
        attributes = f' class="{css}"' if css in {"num", "name"} else ""
        if spec is None or spec.sort is None or spec.sort not in sort_links:
            cells.append(f'<th scope="col"{attributes}>{label}</th>')
            continue
        url, state = sort_links[spec.sort]
        if state:
            attributes += f' aria-sort="{state}"'
        cells.append(
            f'<th scope="col"{attributes}><a href="{escape(url)}">{label}{arrows[state]}</a></th>'
        )
    return mark_safe(f"<tr>{''.join(cells)}</tr>")  # noqa: S308 - every value is escaped
