"""The condition engine: serialisable conditions over a store's customers, compiled to one
queryset.

A condition is ``{"field": ..., "op": ..., "value": ...}`` with JSON-native values (money as
a decimal string, dates as ISO ``YYYY-MM-DD`` in the store's time zone, ids as integers), so
a list of them can sit in a URL-derived filter, a job's parameters or a saved segment and
always mean the same customers. The customer list's filters produce them
(``customers.filters``), ``customers.selectors.customers_matching`` compiles them, and saved
segments (``segments``) store them.

Fields and operators:

=================  ===========================  ==========================================
field              op                           value
=================  ===========================  ==========================================
search             contains                     text: every word in the name or email
                                                (case/accent-insensitive); a phone number
                                                (5 digits or more) also in the phone
total_spent        gte, lte, eq, between        "100.00" or ["10", "99.99"] (None = open)
orders_count       gte, lte, eq, between        3 or [1, 5]
last_order_at      between                      ["2024-01-01", "2024-12-31"] (either None)
last_order_at      never                        None (customers without orders)
last_order_at,     within_days, before_days     30 (within: on or after the start of the
customer_since                                  day 30 days ago; before: earlier, never
                                                ordered not included), counted in the store's
                                                time zone when the conditions are applied
customer_since     between                      ["2024-01-01", None]
group              in                           [group ids]
tag                any, all, none               [tag ids]
country            in                           ["DE", "AT"]
accepts_marketing  is                           true / false
tax_exempt         is                           true / false
account_state      in                           ["guest", "registered", "blocked", "inactive",
                                                "unconfirmed"]
source             in                           ["order", "signup", "import", "manual"]
custom_field       contains, eq, gte, lte, is,  {"key": "shoe_size", "value": ...}
                   in                           (numbers as JSON numbers or numeric text,
                                                dates as ISO text, choices as text)
=================  ===========================  ==========================================

Ids of groups and tags are matched within the store only: another store's id matches nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    DecimalField,
    Exists,
    Expression,
    OuterRef,
    Q,
    QuerySet,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

from storefront_crm.models import Store

from .models import AccountType, Customer, CustomerSource, TaggedCustomer
from .search_text import PHONE_DIGITS_FUNCTION, phone_digits, search_text_normalize


class ConditionError(ValueError):
    """A condition that cannot be compiled (unknown field or operator, malformed value)."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Condition:
        try:
            return cls(field=str(data["field"]), op=str(data["op"]), value=data.get("value"))
        except (KeyError, TypeError):
            raise ConditionError(f"Not a condition: {data!r}") from None


def conditions_to_json(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    return [condition.to_json() for condition in conditions]


def conditions_from_json(data: Iterable[dict[str, Any]] | None) -> list[Condition]:
    return [Condition.from_json(item) for item in data or []]


# --- Free-text search ------------------------------------------------------------------


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CustomerSearchMatch(Expression):
    """``search_text LIKE '%<normalised query>%'`` (``customers.search_text``), which the
    trigram index of migration 0007 answers on PostgreSQL."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, query: str) -> None:
        super().__init__()
        self.query = query

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        quote = compiler.quote_name_unless_alias
        column = f"{quote(Customer._meta.db_table)}.{quote('search_text')}"
        if connection.vendor == "postgresql":
            # The query is normalised by the column's own immutable function, folded at
            # plan time into a constant pattern that the column's statistics can estimate.
            sql = f"{column} LIKE ('%%' || storefront_unaccent(lower(%s)) || '%%')"
            return sql, [like_escape(self.query)]
        sql = f"{column} LIKE %s ESCAPE '\\'"
        return sql, [f"%{like_escape(search_text_normalize(self.query))}%"]


class CustomerPhoneMatch(Expression):
    """The store's customers whose phone holds any of ``variants`` (digit strings, as
    ``customer_phone_digits`` gives them), which the partial trigram index of migration 0009
    finds on PostgreSQL."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, variants: list[str], store_id: int) -> None:
        super().__init__()
        self.variants, self.store_id = variants, store_id

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        quote = compiler.quote_name_unless_alias
        table = quote(Customer._meta.db_table)
        # Digits only: nothing for LIKE to escape.
        patterns = [f"%{digits}%" for digits in self.variants]

        def has_phone_like(phone: str) -> str:
            any_variant = " OR ".join([f"{PHONE_DIGITS_FUNCTION}({phone}) LIKE %s"] * len(patterns))
            return f"{phone} <> '' AND ({any_variant})"

        if connection.vendor == "postgresql":
            # The matching ids first, through the phone index, as an array: the planner ORs
            # them with the name index in one bitmap scan. As a condition on each row, it
            # walked the sort index computing the digits of half a million phones (1.2 s).
            sql = (
                f"{table}.{quote('id')} = ANY(ARRAY(SELECT phone_match.id FROM {table}"
                " phone_match WHERE phone_match.store_id = %s"
                f" AND {has_phone_like('phone_match.phone')}))"
            )
            return sql, [self.store_id, *patterns]
        column = f"{table}.{quote('phone')}"
        return f"({has_phone_like(column)})", patterns


# A search that is a phone number: digits with the usual punctuation, at least this many.
PHONE_SEARCH = re.compile(r"^[+0-9\s()./-]+$")
PHONE_SEARCH_MIN_DIGITS = 5
# An international number ("+49 170 …", "0049 170 …") is also looked for without its
# country code (1 to 3 digits), as phones kept in national form ("0170 …") hold it; only
# while at least this many digits remain, so that the shorter forms still pick one number.
PHONE_SEARCH_MIN_NATIONAL_DIGITS = 7
INTERNATIONAL_PREFIX = re.compile(r"^\(?(\+|00)")


def phone_search_digits(text: str) -> list[str]:
    """The digit strings to look for in phone numbers (the number as typed, and an
    international one without its country code), or [] when ``text`` is no phone number."""
    text = text.strip()
    if not PHONE_SEARCH.match(text):
        return []
    digits = phone_digits(text)
    if len(digits) < PHONE_SEARCH_MIN_DIGITS:
        return []
    variants = [digits]
    if INTERNATIONAL_PREFIX.match(text):
        variants += [
            digits[length:]
            for length in (1, 2, 3)
            if len(digits) - length >= PHONE_SEARCH_MIN_NATIONAL_DIGITS
        ]
    return variants


# A search of more words than this matches on the first ones only (each word is one more
# trigram-index condition).
SEARCH_MAX_WORDS = 8
SEARCH_WORD_SEPARATORS = re.compile(r"[\s,;]+")


def search_words(text: str) -> list[str]:
    """The words of a search, separated by spaces, commas or semicolons."""
    return [word for word in SEARCH_WORD_SEPARATORS.split(text) if word][:SEARCH_MAX_WORDS]


# --- Value parsing --------------------------------------------------------------------


# Bounds of the numbers a condition takes: beyond them a value is no count, sum or number
# of days that a store can have, and would overflow a database integer or a date.
MAX_WHOLE_NUMBER = 10**12
MAX_DAYS = 100 * 366
MAX_DECIMAL_DIGITS = 20
# Dates a condition takes: a day on either side of them still converts to any time zone.
DATE_MIN, DATE_MAX = dt.date(1000, 1, 1), dt.date(9998, 12, 31)


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ConditionError(f"Not a number: {value!r}") from None
    if not number.is_finite() or number.adjusted() >= MAX_DECIMAL_DIGITS:
        raise ConditionError(f"Number out of range: {value!r}")
    return number


def _integer(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConditionError(f"Not a whole number: {value!r}") from None
    if abs(number) > MAX_WHOLE_NUMBER:
        raise ConditionError(f"Number out of range: {value!r}")
    return number


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConditionError(f"Not a date: {value!r}") from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise ConditionError(f"Date out of range: {value!r}")
    return day


def _pair(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ConditionError(f"Expected [from, to], got {value!r}")
    return value[0], value[1]


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list | tuple):
        value = [value]
    ids = [_integer(item) for item in value]
    return [item for item in ids if item is not None]


def _day_start(day: dt.date, store: Store) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(store.time_zone))


# --- Compilers, one per field ----------------------------------------------------------


def _range_q(field: str, op: str, value: Any, parse: Callable[[Any], Any]) -> Q:
    if op == "between":
        low, high = (parse(item) for item in _pair(value))
    elif op == "gte":
        low, high = parse(value), None
    elif op == "lte":
        low, high = None, parse(value)
    elif op == "eq":
        return Q(**{field: parse(value)})
    else:
        raise ConditionError(f"Unknown operator {op!r} for {field}")
    q = Q()
    if low is not None:
        q &= Q(**{f"{field}__gte": low})
    if high is not None:
        q &= Q(**{f"{field}__lte": high})
    return q


def _date_range_q(field: str, op: str, value: Any, store: Store) -> Q:
    if op == "never" and field == "last_order_at":
        return Q(last_order_at__isnull=True)
    if op in {"within_days", "before_days"}:
        # Relative to today, so a saved segment of "ordered in the last 30 days" keeps
        # meaning that.
        days = _integer(value)
        if days is None or not 0 <= days <= MAX_DAYS:
            raise ConditionError(f"Expected a number of days, got {value!r}")
        today = dt.datetime.now(zoneinfo.ZoneInfo(store.time_zone)).date()
        boundary = _day_start(today - dt.timedelta(days=days), store)
        lookup = "gte" if op == "within_days" else "lt"
        return Q(**{f"{field}__{lookup}": boundary})
    if op != "between":
        raise ConditionError(f"Unknown operator {op!r} for {field}")
    start, end = (_date(item) for item in _pair(value))
    q = Q()
    if start is not None:
        q &= Q(**{f"{field}__gte": _day_start(start, store)})
    if end is not None:  # the whole last day, in the store's time zone
        q &= Q(**{f"{field}__lt": _day_start(end + dt.timedelta(days=1), store)})
    return q


def _tag_q(op: str, value: Any, store: Store) -> Q:
    tag_ids = _ids(value)
    if not tag_ids:
        return Q()
    links = TaggedCustomer.objects.filter(store=store, content_object=OuterRef("pk"))
    if op == "any":
        return Q(Exists(links.filter(tag_id__in=tag_ids)))
    if op == "none":
        return ~Q(Exists(links.filter(tag_id__in=tag_ids)))
    if op == "all":
        q = Q()
        for tag_id in dict.fromkeys(tag_ids):
            q &= Q(Exists(links.filter(tag_id=tag_id)))
        return q
    raise ConditionError(f"Unknown operator {op!r} for tag")


ACCOUNT_STATES: dict[str, Q] = {
    "guest": Q(account_type=AccountType.GUEST),
    "registered": Q(account_type=AccountType.REGISTERED),
    "blocked": Q(is_blocked=True),
    "inactive": Q(is_active=False),
    # A registered account whose owner has not confirmed the email yet (guests have none).
    "unconfirmed": Q(account_type=AccountType.REGISTERED, email_confirmed=False),
}

CUSTOM_FIELD_KEY = re.compile(r"^[-a-zA-Z0-9]+(?:_[-a-zA-Z0-9]+)*$")  # a slug without "__"
# A date value of a custom field, as stored and compared: ISO text, which sorts as dates do.
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NUMERIC_TEXT = r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"


def _custom_field_q(op: str, value: Any) -> Q:
    if not isinstance(value, dict) or not CUSTOM_FIELD_KEY.match(str(value.get("key", ""))):
        raise ConditionError(f"Expected {{'key': slug, 'value': ...}}, got {value!r}")
    key, wanted = str(value["key"]), value.get("value")
    path = f"custom_fields__{key}"
    if op == "contains":
        return Q(**{f"{path}__icontains": str(wanted)})
    if op == "eq":
        return Q(**{f"{path}__iexact": str(wanted)})
    if op == "in":
        options = [str(item) for item in (wanted if isinstance(wanted, list) else [wanted])]
        return Q(**{f"{path}__in": options})
    if op == "is":
        truthy = Q(**{path: True}) | Q(**{f"{path}__iregex": r"^(true|yes|1)$"})
        # A customer without a value counts as "no".
        return truthy if bool(wanted) else (~truthy | Q(**{f"{path}__isnull": True}))
    if op in {"gte", "lte"}:
        if isinstance(wanted, str) and ISO_DATE.fullmatch(wanted):
            # ISO dates compare correctly as text
            return Q(**{f"{path}__{op}": wanted})
        number = _decimal(wanted)
        if number is None:
            return Q()
        # Only numeric values take part: a JSON number or numeric text, cast for comparison.
        numeric = Case(
            When(
                Q(**{f"{path}__regex": NUMERIC_TEXT}),
                then=Cast(
                    KeyTextTransform(key, "custom_fields"),
                    DecimalField(max_digits=30, decimal_places=10),
                ),
            ),
            default=None,
            output_field=DecimalField(max_digits=30, decimal_places=10),
        )
        lookup = GreaterThanOrEqual if op == "gte" else LessThanOrEqual
        return Q(lookup(numeric, number))
    raise ConditionError(f"Unknown operator {op!r} for custom_field")


def condition_q(condition: Condition, store: Store) -> Q:
    """One condition as a ``Q`` over ``Customer``; raises ``ConditionError`` when malformed."""
    field, op, value = condition.field, condition.op, condition.value
    if field == "search":
        # Every word somewhere, in any order: "Becker Käthe" and "becker, käthe" find
        # Käthe Becker as "Käthe Becker" does. A phone number is looked for in phones too
        # ("0170 123 4567" finds "+49 170 1234567", and back), and still in emails.
        text = str(value or "").replace("\x00", "")  # no text column holds a NUL
        q = Q()
        for word in search_words(text):
            q &= Q(CustomerSearchMatch(word))
        variants = phone_search_digits(text)
        return q | Q(CustomerPhoneMatch(variants, store.pk)) if variants else q
    if field == "total_spent":
        return _range_q(field, op, value, _decimal)
    if field == "orders_count":
        return _range_q(field, op, value, _integer)
    if field in {"last_order_at", "customer_since"}:
        return _date_range_q(field, op, value, store)
    if field == "group" and op == "in":
        ids = _ids(value)
        return Q(group_id__in=ids) if ids else Q()
    if field == "tag":
        return _tag_q(op, value, store)
    if field == "country" and op == "in":
        codes = [str(code).strip().upper() for code in (value or []) if str(code).strip()]
        return Q(country__in=codes) if codes else Q()
    if field in {"accepts_marketing", "tax_exempt"} and op == "is":
        return Q(**{field: bool(value)})
    if field == "account_state" and op == "in":
        states = value if isinstance(value, list | tuple) else [value]
        unknown = set(states) - set(ACCOUNT_STATES)
        if unknown:
            raise ConditionError(f"Unknown account states: {sorted(unknown)}")
        q = Q()
        for state in states:
            q |= ACCOUNT_STATES[state]
        return q
    if field == "source" and op == "in":
        sources = value if isinstance(value, list | tuple) else [value]
        unknown = set(sources) - set(CustomerSource.values)
        if unknown:
            raise ConditionError(f"Unknown sources: {sorted(unknown)}")
        return Q(source__in=list(sources)) if sources else Q()
    if field == "custom_field":
        return _custom_field_q(op, value)
    raise ConditionError(f"Unknown condition {field} {op}")


def conditions_apply(
    customers: QuerySet[Customer], *, store: Store, conditions: Iterable[Condition]
) -> QuerySet[Customer]:
    """All ``conditions`` (AND) applied to ``customers`` of ``store``: still one query."""
    q = Q()
    for condition in conditions:
        q &= condition_q(condition, store)
    return customers.filter(q)
