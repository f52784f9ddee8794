"""Reads on customers. Every function takes the store explicitly."""

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any, TypeVar

import psycopg
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, models
from django.db.models import F, Func, OuterRef, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from storefront_crm.models import Store

from .conditions import Condition, conditions_apply, conditions_from_json, search_words
from .models import Address, Customer, CustomerGroup, CustomerNote, CustomerTag, TaggedCustomer
from .search_text import search_text_normalize

ModelT = TypeVar("ModelT", bound=models.Model)


def other_rows(rows: QuerySet[ModelT], except_pk: int | None) -> QuerySet[ModelT]:
    """``rows`` without the row ``except_pk`` (the one being edited); all of them when
    None. For "does another row already have this name/email?" checks."""
    return rows if except_pk is None else rows.exclude(pk=except_pk)


def store_overview(*, store: Store) -> dict[str, Any]:
    customers = Customer.objects.filter(store=store)
    return {
        "recent_customers": list(customers.order_by("-customer_since", "-id")[:5]),
        "top_customers": list(
            customers.filter(orders_count__gt=0).order_by("-total_spent", "-id")[:5]
        ),
        "tag_count": CustomerTag.objects.filter(store=store).count(),
    }


def customer_group_choices(*, store: Store) -> list[CustomerGroup]:
    return list(CustomerGroup.objects.filter(store=store))


def customer_notes(*, store: Store, customer: Customer) -> QuerySet[CustomerNote]:
    return CustomerNote.objects.filter(store=store, customer=customer).select_related("author")


# --- The customer list: conditions, sorting, keyset pages, cheap totals ----------------


# How many of the store's tags a list search offers as filters, at most.
SEARCH_TAGS_SHOWN = 5
SEARCH_TAG_MIN_LENGTH = 3


def tags_matching_search(*, store: Store, text: str) -> list[tuple[int, str]]:
    """``(id, name)`` of the store's tags whose names hold every word of a list search
    (case- and accent-insensitive, as the search itself), by name. The list offers them
    beside what the search found: a merchant who types a tag reaches its customers with one
    click, through the tag filter, whose count is exact and whose page is fast (a search
    that also matched tags would need an OR that PostgreSQL can neither estimate nor
    plan well on a big store). A store has at most 250 tags, so they are matched here."""
    words = [search_text_normalize(word) for word in search_words(text)]
    if not words:
        return []
    whole = " ".join(words)
    # One or two letters are part of too many names to mean a tag, unless they are one.
    partial = len(whole) >= SEARCH_TAG_MIN_LENGTH
    tags = CustomerTag.objects.filter(store=store).order_by("name", "pk").values_list("pk", "name")
    exact, containing = [], []
    for tag_id, name in tags:
        normalized = search_text_normalize(name)
        if normalized == whole:
            exact.append((tag_id, name))
        elif partial and all(word in normalized for word in words):
            containing.append((tag_id, name))
    return [*exact, *containing][:SEARCH_TAGS_SHOWN]


def customers_matching(store: Store, conditions: Iterable[Condition]) -> QuerySet[Customer]:
    """The store's customers matching every condition (AND), as one queryset.

    ``conditions`` are ``customers.conditions.Condition`` objects (or their JSON dicts, as
    stored in job parameters and saved segments): see ``customers.conditions`` for fields
    and operators. Raises ``ConditionError`` on a malformed condition.

    Job parameter contract, shared by the list's bulk actions and the CSV export
    (``job_start(kind="customers.export", params=...)`` and ``kind="customers.bulk"``)::

        {
            "conditions": [{"field": "country", "op": "in", "value": ["DE"]}, ...],
            "customer_ids": [12, 15] or None,
        }

    ``customer_ids`` set: exactly those customers (ids of other stores match nothing);
    ``None``: every customer that matches ``conditions`` (an empty list = the whole store).
    A handler should call ``customers_matching(store, conditions_from_json(params["conditions"]))``
    and narrow it with ``.filter(pk__in=params["customer_ids"])`` when ids are given —
    ``customers_for_job_params`` does exactly that.
    """
    parsed = [
        condition if isinstance(condition, Condition) else Condition.from_json(condition)
        for condition in conditions
    ]
    return conditions_apply(Customer.objects.filter(store=store), store=store, conditions=parsed)


@dataclass(frozen=True)
class CustomerSelection:
    """Which customers a bulk action would act on, as a member reviewed them: how many,
    and a fingerprint of exactly which (a digest of their ids). Travelling with the
    confirmation, it lets the action refuse a set that changed since."""

    count: int
    fingerprint: str


def customer_selection(customers: QuerySet[Customer]) -> CustomerSelection:
    """The exact count and fingerprint of ``customers``: their ids are read in order (one
    streamed query), never the rows."""
    digest = hashlib.sha256()
    count = 0
    ids = customers.order_by("pk").values_list("pk", flat=True)
    for pk in ids.iterator(chunk_size=10_000):
        digest.update(b"%d," % pk)
        count += 1
    return CustomerSelection(count=count, fingerprint=digest.hexdigest()[:32])


def customers_for_job_params(store: Store, params: dict[str, Any]) -> QuerySet[Customer]:
    """The customers a bulk or export job's parameters name (see ``customers_matching``)."""
    customers = customers_matching(store, conditions_from_json(params.get("conditions")))
    customer_ids = params.get("customer_ids")
    if customer_ids is not None:
        customers = customers.filter(pk__in=[int(pk) for pk in customer_ids])
    return customers


# Customers who never ordered sort as the oldest, in both directions; PostgreSQL has an
# index on exactly this expression (migration 0003).
NEVER_ORDERED = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SortColumn:
    expression: Any
    field: models.Field
    value_of: Callable[["Customer | CustomerRow"], Any]


def _column(name: str) -> SortColumn:
    field = Customer._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{name} is not a column of Customer")
    return SortColumn(F(name), field, attrgetter(name))


SORTS: dict[str, tuple[SortColumn, ...]] = {
    "name": (_column("last_name"), _column("first_name")),
    "email": (_column("email"),),
    "orders": (_column("orders_count"),),
    "spent": (_column("total_spent"),),
    "last_order": (
        SortColumn(
            Coalesce(F("last_order_at"), Value(NEVER_ORDERED, output_field=models.DateTimeField())),
            models.DateTimeField(),
            lambda customer: customer.last_order_at or NEVER_ORDERED,
        ),
    ),
    "since": (_column("customer_since"),),
}
SORT_DEFAULT = "-since"
ID_COLUMN = SortColumn(F("id"), models.BigIntegerField(), attrgetter("pk"))


@dataclass(frozen=True)
class ListSort:
    key: str
    descending: bool

    @classmethod
    def parse(cls, value: str | None) -> "ListSort":
        value = (value or SORT_DEFAULT).strip()
        key = value.lstrip("-")
        if key not in SORTS:
            value, key = SORT_DEFAULT, SORT_DEFAULT.lstrip("-")
        return cls(key=key, descending=value.startswith("-"))

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.key

    @property
    def columns(self) -> tuple[SortColumn, ...]:
        return (*SORTS[self.key], ID_COLUMN)

    def order_by(self, *, reverse: bool = False) -> list[Any]:
        descending = self.descending != reverse
        return [
            column.expression.desc() if descending else column.expression.asc()
            for column in self.columns
        ]


class RowCompare(Func):
    """``(a, b, id) > (x, y, z)``: the keyset condition, which a btree index answers
    directly (an OR-expansion would not be). The right side is either values or a query
    of one row with the same columns (``(a, b, id) > (SELECT …)``, which PostgreSQL
    runs once, before the index scan, so the scan still uses the row as its bound)."""

    output_field = models.BooleanField()

    def __init__(
        self, columns: tuple[SortColumn, ...], operator: str, values: list[Any] | QuerySet
    ):
        self.operator = operator
        self.width = len(columns)
        if isinstance(values, QuerySet):
            rhs: list[Any] = [Subquery(values, output_field=columns[0].field)]
        else:
            rhs = [Value(v, output_field=c.field) for c, v in zip(columns, values, strict=True)]
        self.row_query = isinstance(values, QuerySet)
        super().__init__(*(column.expression for column in columns), *rhs)

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        lhs, rhs = parts[: self.width], parts[self.width :]
        right = rhs[0] if self.row_query else f"({', '.join(rhs)})"  # a subquery has its ()
        return f"({', '.join(lhs)}) {self.operator} {right}", params


def cursor_encode(sort: ListSort, row: "Customer | CustomerRow") -> str:
    values = [column.value_of(row) for column in sort.columns]
    payload = [
        value.isoformat() if isinstance(value, dt.datetime) else str(value) for value in values
    ]
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def cursor_decode(sort: ListSort, token: str | None) -> list[Any] | None:
    """The sort values in a cursor, or None when it is missing or malformed."""
    if not token:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(raw, list) or len(raw) != len(sort.columns):
            return None
        return [
            column.field.to_python(value) for column, value in zip(sort.columns, raw, strict=True)
        ]
    except (ValueError, TypeError, ValidationError):
        return None


@dataclass(slots=True)
class CustomerRow:
    """What the list shows of one customer, read as plain values: building model instances
    (and a group instance per row) for 50 rows costs more than the query that reads them."""

    id: int
    store_id: int
    email: str
    first_name: str
    last_name: str
    group_name: str
    orders_count: int
    total_spent: Decimal
    last_order_at: dt.datetime | None
    customer_since: dt.datetime
    account_type: str
    is_blocked: bool
    is_active: bool
    accepts_marketing: bool
    phone: str
    country: str
    first_order_at: dt.datetime | None
    source: str
    custom_fields: dict[str, Any]
    # The city of the default address (shipping before billing), read only when the list
    # shows it: else "".
    city: str
    # [id, name] of each tag, by name: one text array from PostgreSQL, so ids are text
    tag_pairs: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.custom_fields, str):  # jsonb read straight from PostgreSQL's cursor
            self.custom_fields = json.loads(self.custom_fields)

    @property
    def pk(self) -> int:
        return self.id

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __str__(self) -> str:
        return self.full_name or self.email


# CustomerRow's fields as the query reads them, in order (tag_pairs is added on PostgreSQL).
ROW_VALUES = (
    "id",
    "store_id",
    "email",
    "first_name",
    "last_name",
    "group__name",
    "orders_count",
    "total_spent",
    "last_order_at",
    "customer_since",
    "account_type",
    "is_blocked",
    "is_active",
    "accepts_marketing",
    "phone",
    "country",
    "first_order_at",
    "source",
    "custom_fields",
    "city",
)


def _with_city(customers: QuerySet[Customer], city: bool) -> QuerySet[Customer]:
    """``customers`` with the ``city`` value of ``CustomerRow``: a subquery per row on the
    (store, customer) index of addresses when asked for, else an empty text."""
    if not city:
        return customers.annotate(city=Value(""))
    default_address = Address.objects.filter(
        store_id=OuterRef("store_id"), customer_id=OuterRef("pk"), is_default=True
    ).order_by("-kind")  # "shipping" before "billing"
    return customers.annotate(
        city=Coalesce(Subquery(default_address.values("city")[:1]), Value(""))
    )


@dataclass
class CustomerPage:
    customers: list[CustomerRow]
    number: int
    has_next: bool
    has_previous: bool
    next_cursor: str | None
    previous_cursor: str | None
    count: "CountHint | None" = None  # with ``count=True``: how many match in all


def customer_page(
    customers: QuerySet[Customer],
    *,
    sort: ListSort,
    page_size: int,
    after: str | None = None,
    before: str | None = None,
    number: int = 1,
    count: bool = False,
    city: bool = False,
) -> CustomerPage:
    """One page of ``customers`` by keyset: ``after``/``before`` a cursor, or page ``number``
    (the boundary found by an offset over the sort index, then a keyset read). With
    ``count``, also ``customer_count_hint(customers)``: on PostgreSQL in the same round trip
    as the rows."""
    try:
        return _customer_page(
            customers,
            sort=sort,
            page_size=page_size,
            after=after,
            before=before,
            number=number,
            count=count,
            city=city,
        )
    except EmptyResultSet:  # the SQL built here by hand of a query that is provably empty
        return CustomerPage(
            customers=[],
            number=1,
            has_next=False,
            has_previous=False,
            next_cursor=None,
            previous_cursor=None,
            count=CountHint(0, exact=True) if count else None,
        )


def _customer_page(
    customers: QuerySet[Customer],
    *,
    sort: ListSort,
    page_size: int,
    after: str | None,
    before: str | None,
    number: int,
    count: bool,
    city: bool,
) -> CustomerPage:
    number = max(1, number)
    customers = customers.select_related(None).prefetch_related(None)
    # The count rides with the first row query (the only one, but on a jump past the end).
    counted: list[CountHint] = []
    count_of = customers if count else None

    def _rows(page_query: QuerySet[Customer]) -> list[CustomerRow]:
        nonlocal count_of
        rows, hint = _rows_and_count(_with_city(page_query, city), count_of)
        if hint is not None:
            counted.append(hint)
            count_of = None
        return rows

    after_values, before_values = cursor_decode(sort, after), cursor_decode(sort, before)
    forward = ">" if not sort.descending else "<"
    backward = "<" if not sort.descending else ">"
    if before_values is not None:
        rows = _rows(
            customers.filter(RowCompare(sort.columns, backward, before_values)).order_by(
                *sort.order_by(reverse=True)
            )[: page_size + 1]
        )
        has_previous = len(rows) > page_size
        rows = rows[:page_size][::-1]
        has_next = True
    else:
        page_rows: list[CustomerRow] | None = None
        jumped = False
        if after_values is None and number > 1:
            # A page jump in one query: the rows after the row found by an offset over the
            # sort columns only (which PostgreSQL reads from the sort index alone).
            boundary = _page_boundary(customers, sort, (number - 1) * page_size)
            page_rows = _rows(
                customers.filter(RowCompare(sort.columns, forward, boundary)).order_by(
                    *sort.order_by()
                )[: page_size + 1]
            )
            # No rows: past the last page (shown as the first page), or exactly at its end.
            jumped = bool(page_rows) or next(iter(boundary), None) is not None
            if not jumped:
                number, page_rows = 1, None
        if page_rows is None:
            if after_values is not None:
                customers = customers.filter(RowCompare(sort.columns, forward, after_values))
            page_rows = _rows(customers.order_by(*sort.order_by())[: page_size + 1])
        has_next = len(page_rows) > page_size
        rows = page_rows[:page_size]
        has_previous = after_values is not None or jumped
    if count_of is not None:  # not sent along with the rows: SQLite
        counted.append(customer_count_hint(count_of))
    return CustomerPage(
        customers=rows,
        number=number,
        has_next=has_next and bool(rows),
        has_previous=has_previous and bool(rows),
        next_cursor=cursor_encode(sort, rows[-1]) if rows else None,
        previous_cursor=cursor_encode(sort, rows[0]) if rows else None,
        count=counted[0] if counted else None,
    )


def _rows_and_count(
    customers: QuerySet[Customer], count_of: QuerySet[Customer] | None
) -> tuple[list[CustomerRow], "CountHint | None"]:
    """The page's rows; on PostgreSQL with their tags (id, name) in the same query (an array
    subquery per row, answered by the unique index on store, customer, tag) and, when
    ``count_of`` is given, with its count hint's statements in the same round trip.
    Elsewhere the tags take one more query and the count is left to the caller."""
    if connection.vendor != "postgresql":
        rows = [CustomerRow(*values) for values in customers.values_list(*ROW_VALUES)]
        _tags_attach(rows)
        return rows, None
    # Raw SQL because the equivalent ArraySubquery costs more to build and relabel in
    # Python than the query takes to run; it names the outer table, the base alias.
    qn = connection.ops.quote_name
    customer = qn(Customer._meta.db_table)
    tagged, tag = qn(TaggedCustomer._meta.db_table), qn(CustomerTag._meta.db_table)
    # One subquery for both: [id, name] pairs as a two-dimensional text array (two
    # subqueries, ids and names, cost a measurable 0.2 ms per page).
    tag_pairs = RawSQL(
        f"ARRAY(SELECT ARRAY[tag.id::text, tag.name] FROM {tagged} tagged JOIN {tag} tag"
        f" ON tag.id = tagged.tag_id WHERE tagged.store_id = {customer}.store_id"
        f" AND tagged.content_object_id = {customer}.id ORDER BY tag.name, tag.id)",
        [],
        output_field=ArrayField(ArrayField(models.TextField())),
    )
    values = customers.annotate(tag_pairs=tag_pairs).values_list(*ROW_VALUES, "tag_pairs")
    if count_of is None:
        return [CustomerRow(*row) for row in values], None
    rows_sql, rows_params = values.query.sql_with_params()
    with connection.cursor() as cursor:
        if not isinstance(cursor.cursor, psycopg.ClientCursor):
            return [CustomerRow(*row) for row in values], customer_count_hint(count_of)
        count_sql, count_params = _count_statements(count_of)
        # Plain values need no converters on PostgreSQL (psycopg already gives Decimal,
        # aware datetimes and lists), so the rows are read straight from the cursor.
        cursor.execute(f"{rows_sql}; {count_sql}", [*rows_params, *count_params])
        rows = [CustomerRow(*row) for row in cursor.fetchall()]
        cursor.nextset()
        bounded = cursor.fetchone()[0]
        cursor.nextset()
        plan = cursor.fetchone()[0]
    return rows, _count_hint(bounded, plan)


def _tags_attach(customers: list[CustomerRow]) -> None:
    """``tag_pairs`` of a page's rows in one query (Django's generic prefetch builds a taggit
    queryset per row, which costs more than the query itself)."""
    if not customers:
        return
    by_id = {customer.pk: customer for customer in customers}
    links = TaggedCustomer.objects.filter(
        store_id=customers[0].store_id, content_object_id__in=list(by_id)
    ).order_by("tag__name", "tag_id")
    for customer_id, tag_id, name in links.values_list("content_object_id", "tag_id", "tag__name"):
        by_id[customer_id].tag_pairs.append([str(tag_id), name])


def _page_boundary(customers: QuerySet[Customer], sort: ListSort, offset: int) -> QuerySet:
    """The sort values of the ``offset``-th row, as a query of at most one row."""
    names = [f"sort_{index}" for index in range(len(sort.columns))]
    return (
        customers.select_related(None)
        .prefetch_related(None)
        .annotate(**{name: col.expression for name, col in zip(names, sort.columns, strict=True)})
        .order_by(*sort.order_by())
        .values_list(*names)[offset - 1 : offset]
    )


@dataclass(frozen=True)
class CountHint:
    """How many customers match: exact when few, else an estimate (PostgreSQL) or a floor."""

    value: int
    exact: bool


EXACT_COUNT_LIMIT = 1_000


def customer_count_hint(customers: QuerySet[Customer]) -> CountHint:
    """Never a COUNT(*) over a whole big store: count at most ``EXACT_COUNT_LIMIT + 1`` rows;
    beyond that use PostgreSQL's planner estimate. On PostgreSQL the bounded count and the
    ``EXPLAIN`` travel together in one round trip (client-side binding sends both
    statements as one query); planning costs far less than another round trip."""
    try:
        return _customer_count_hint(customers)
    except EmptyResultSet:  # provably empty: Django compiles no SQL for it
        return CountHint(0, exact=True)


def _customer_count_hint(customers: QuerySet[Customer]) -> CountHint:
    if connection.vendor != "postgresql":
        matching = customers.select_related(None).prefetch_related(None).order_by()
        bounded = matching.values("pk")[: EXACT_COUNT_LIMIT + 1].count()
        if bounded <= EXACT_COUNT_LIMIT:
            return CountHint(bounded, exact=True)
        return CountHint(EXACT_COUNT_LIMIT + 1, exact=False)
    with connection.cursor() as cursor:
        if isinstance(cursor.cursor, psycopg.ClientCursor):
            sql, params = _count_statements(customers)
            cursor.execute(sql, params)
            bounded = cursor.fetchone()[0]
            cursor.nextset()
            plan = cursor.fetchone()[0]
        else:  # server-side binding: one statement per query
            matching_sql, matching_params = _matching_sql(customers)
            cursor.execute(
                f"SELECT count(*) FROM ({matching_sql} LIMIT {EXACT_COUNT_LIMIT + 1}) b",
                matching_params,
            )
            bounded, plan = cursor.fetchone()[0], None
            if bounded > EXACT_COUNT_LIMIT:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {matching_sql}", matching_params)
                plan = cursor.fetchone()[0]
    return _count_hint(bounded, plan)


def _matching_sql(customers: QuerySet[Customer]) -> tuple[str, tuple[Any, ...]]:
    matching = customers.select_related(None).prefetch_related(None).order_by().values("pk")
    return matching.query.sql_with_params()


def _count_statements(customers: QuerySet[Customer]) -> tuple[str, list[Any]]:
    """The bounded count and the planner's estimate as two statements of one query (for a
    client-side binding cursor); their results come as two result sets."""
    sql, params = _matching_sql(customers)
    return (
        f"SELECT count(*) FROM ({sql} LIMIT {EXACT_COUNT_LIMIT + 1}) bounded; "
        f"EXPLAIN (FORMAT JSON) {sql}",
        [*params, *params],
    )


def _count_hint(bounded: int, plan: Any) -> CountHint:
    if bounded <= EXACT_COUNT_LIMIT:
        return CountHint(bounded, exact=True)
    if isinstance(plan, str):
        plan = json.loads(plan)
    estimate = int(plan[0]["Plan"]["Plan Rows"]) if plan else 0
    return CountHint(max(estimate, EXACT_COUNT_LIMIT + 1), exact=False)
