"""Customer export in the native format, streamed so memory stays flat at any size.

The columns are the native resource's (plus one per custom field). On PostgreSQL the
whole file body is one ``COPY (SELECT …) TO STDOUT WITH CSV`` whose SELECT renders every
cell (dates in the store's time zone, yes/no, tags joined, the default addresses) and
neutralises cells a spreadsheet would run as formulas; Python only passes the bytes on.
Elsewhere the same cells are rendered in Python, chunk by chunk.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from storefront_crm.models import Store

from ..models import Address, Customer, CustomerGroup, CustomField, TaggedCustomer
from .formats import ADDRESS_PARTS, Column, NativeResource, custom_column_name
from .widgets import formula_escape, tags_render

CHUNK_ROWS = 2000
ID_WINDOW = 250_000  # customer ids per COPY on PostgreSQL (a progress step each)
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class CsvDialect:
    """How the file is written. German and Italian spreadsheet programs split a CSV at
    semicolons and read decimal commas; without a byte-order mark they take UTF-8 for the
    old Windows code page. Our import reads either dialect."""

    delimiter: str = ","
    decimal_comma: bool = False
    byte_order_mark: bool = False


CSV_DIALECTS = {
    "standard": CsvDialect(),
    "spreadsheet": CsvDialect(delimiter=";", decimal_comma=True, byte_order_mark=True),
}
UTF8_BOM = b"\xef\xbb\xbf"

DATETIMES = {"customer_since", "first_order_at", "last_order_at", "marketing_consent_at"}
BOOLEANS = {"is_active", "is_blocked", "email_confirmed", "accepts_marketing", "tax_exempt"}
NUMBERS = {"orders_count", "total_spent", "average_order_value"}


def export_columns(store: Store) -> tuple[list[Column], list[CustomField]]:
    columns = [column for column in NativeResource.columns() if column.exported]
    return columns, list(CustomField.objects.filter(store=store).order_by("position", "id"))


def export_header(columns: list[Column], custom: list[CustomField]) -> list[str]:
    return [c.column_name for c in columns] + [custom_header(f) for f in custom]


def custom_header(field: CustomField) -> str:
    return custom_column_name(field.label, field.key, field.field_type, field.choices)


def customers_export(
    *,
    store: Store,
    out: IO[bytes],
    selection: QuerySet[Customer] | None = None,
    on_progress: ProgressCallback | None = None,
    dialect: CsvDialect = CSV_DIALECTS["standard"],
) -> int:
    """Write the store's customers (or ``selection`` of them) as native CSV to ``out``;
    returns the number of rows. Notes and passwords are never exported."""
    columns, custom = export_columns(store)
    if dialect.byte_order_mark:
        out.write(UTF8_BOM)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    csv.writer(text, delimiter=dialect.delimiter, lineterminator="\n").writerow(
        [formula_escape(h) for h in export_header(columns, custom)]
    )
    text.detach()
    total = (selection if selection is not None else Customer.objects.filter(store=store)).count()
    if on_progress:
        on_progress(0, total)
    if connection.vendor == "postgresql":
        _export_postgresql(store, out, columns, custom, selection, total, on_progress, dialect)
    else:
        _export_python(store, out, columns, custom, selection, total, on_progress, dialect)
    if on_progress:
        on_progress(total, total)
    return total


# --- PostgreSQL: one COPY ---------------------------------------------------------------


def _escaped(expression: str) -> str:
    """The SQL twin of ``formula_escape``; empty text becomes NULL (an empty cell)."""
    starts = "'=', '+', '-', '@', E'\\t', E'\\r'"
    return (
        f"CASE WHEN left({expression}, 1) IN ({starts}) OR (left({expression}, 1) = '''' "
        f"AND substr({expression}, 2, 1) IN ({starts}, '''')) THEN '''' || {expression} "
        f"ELSE NULLIF({expression}, '') END"
    )


def export_select_sql(
    columns: list[Column],
    custom: list[CustomField],
    *,
    where: str = "",
    id_window: tuple[int, int] | None = None,
    decimal_comma: bool = False,
) -> tuple[str, list[Any]]:
    """The SELECT of the export (also the benchmark's baseline); parameters: the time
    zone, the store id, then those of ``where``. ``id_window`` (first id, id after the
    last) limits the customers and, stated again for them, the joined addresses: the
    planner does not carry a range across a join, and would read every address of the
    store for each window. ``decimal_comma``: numbers written 12,50 instead of 12.50."""
    qn = connection.ops.quote_name

    def number(expression: str) -> str:
        return f"replace({expression}, '.', ',')" if decimal_comma else expression

    params: list[Any] = []
    expressions = []
    for column in columns:
        name = column.attribute
        if name in DATETIMES:
            expressions.append(f"to_char(c.{name} AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI:SS')")
        elif name in BOOLEANS:
            expressions.append(f"CASE WHEN c.{name} THEN 'yes' ELSE 'no' END")
        elif name == "average_order_value":
            expressions.append(
                number(
                    "CASE WHEN c.orders_count > 0 "
                    "THEN round(c.total_spent / c.orders_count, 2)::text ELSE '0.00' END"
                )
            )
        elif name in NUMBERS:
            expressions.append(number(f"c.{name}::text"))
        elif name == "group_name":
            expressions.append(_escaped("g.name"))
        elif name == "tag_names":
            expressions.append(_escaped("t.names"))
        elif name.startswith(("shipping_", "billing_")):
            kind, _sep, part = name.partition("_")
            expressions.append(_escaped(f"{kind[0]}a.{part}"))
        elif name == "account_type":
            expressions.append("c.account_type")
        else:
            expressions.append(_escaped(f"c.{name}"))
    for field in custom:
        value = f"(c.custom_fields ->> %(cf_{field.pk})s)"
        if decimal_comma:
            is_number = f"jsonb_typeof(c.custom_fields -> %(cf_{field.pk})s) = 'number'"
            expressions.append(
                f"CASE WHEN {is_number} THEN {number(value)} ELSE {_escaped(value)} END"
            )
        else:
            expressions.append(_escaped(value))

    def in_window(column: str) -> str:
        if id_window is None:
            return ""
        start, stop = (int(bound) for bound in id_window)
        return f"AND {column} >= {start} AND {column} < {stop}"

    address = qn(Address._meta.db_table)
    tagged = qn(TaggedCustomer._meta.db_table)
    tag = qn(TaggedCustomer._meta.get_field("tag").related_model._meta.db_table)
    sql = (
        f"SELECT {', '.join(expressions)} "
        f"FROM {qn(Customer._meta.db_table)} c "
        f"JOIN {qn(CustomerGroup._meta.db_table)} g ON g.id = c.group_id "
        f"LEFT JOIN {address} sa ON sa.store_id = c.store_id AND sa.customer_id = c.id "
        f"AND sa.kind = 'shipping' AND sa.is_default {in_window('sa.customer_id')} "
        f"LEFT JOIN {address} ba ON ba.store_id = c.store_id AND ba.customer_id = c.id "
        f"AND ba.kind = 'billing' AND ba.is_default {in_window('ba.customer_id')} "
        "LEFT JOIN LATERAL (SELECT string_agg(CASE WHEN tg.name LIKE '%%,%%' "
        "THEN '\"' || tg.name || '\"' ELSE tg.name END, ', ' ORDER BY lower(tg.name)) AS names "
        f"FROM {tagged} tc JOIN {tag} tg ON tg.id = tc.tag_id "
        "WHERE tc.store_id = c.store_id AND tc.content_object_id = c.id) t ON true "
        f"WHERE c.store_id = %(store)s {where} {in_window('c.id')} ORDER BY c.id"
    )
    return sql, params


def _export_postgresql(
    store: Store,
    out: IO[bytes],
    columns: list[Column],
    custom: list[CustomField],
    selection: QuerySet[Customer] | None,
    total: int,
    on_progress: ProgressCallback | None,
    dialect: CsvDialect,
) -> None:
    params: dict[str, Any] = {"tz": store.time_zone, "store": store.pk}
    params.update({f"cf_{field.pk}": field.key for field in custom})
    where = ""
    if selection is not None:
        inner, inner_params = selection.values("id").query.sql_with_params()
        # Named placeholders outside, positional inside: inline the selection's values
        # through psycopg's own quoting.
        with connection.cursor() as cursor:
            inner = cursor.cursor.mogrify(inner, inner_params).replace("%", "%%")
        where = f"AND c.id IN ({inner})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(id), max(id) FROM {connection.ops.quote_name(Customer._meta.db_table)} "
            "WHERE store_id = %s",
            [store.pk],
        )
        low, high = cursor.fetchone()
    if low is None:
        return
    done = 0
    with connection.cursor() as cursor:
        # The SELECT's cost estimate is high enough for PostgreSQL to compile it to machine
        # code, which takes longer than running it per window. Session-wide (the export
        # runs outside a transaction so that its progress shows), reset below.
        cursor.execute("SET jit = off")
    try:
        # One COPY per id window: between two COPYs the connection is free for the job's
        # progress update (a query during a COPY would wait for the COPY forever).
        for start in range(low, high + 1, ID_WINDOW):
            sql, _unused = export_select_sql(
                columns,
                custom,
                where=where,
                id_window=(start, start + ID_WINDOW),
                decimal_comma=dialect.decimal_comma,
            )
            with connection.cursor() as cursor:
                query = cursor.cursor.mogrify(sql, params)
                options = f"FORMAT csv, DELIMITER '{dialect.delimiter}'"
                with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH ({options})") as copy:
                    for chunk in copy:
                        out.write(chunk)
                        done += 1
            if on_progress:
                on_progress(min(done, total), total)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit")


# --- Elsewhere: rendered in Python, chunk by chunk ----------------------------------------


def _cell(column: Column, value: Any, dialect: CsvDialect) -> str:
    name = column.attribute
    if value is None:
        return ""
    if name in DATETIMES:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if name in BOOLEANS:
        return "yes" if value else "no"
    if name in NUMBERS:
        return _number(str(value), dialect)
    return formula_escape(str(value))


def _custom_cell(value: Any, dialect: CsvDialect) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(str(value), dialect)
    return formula_escape(str(value))


def _number(text: str, dialect: CsvDialect) -> str:
    return text.replace(".", ",") if dialect.decimal_comma else text


def _export_python(
    store: Store,
    out: IO[bytes],
    columns: list[Column],
    custom: list[CustomField],
    selection: QuerySet[Customer] | None,
    total: int,
    on_progress: ProgressCallback | None,
    dialect: CsvDialect,
) -> None:
    base = Customer.objects.filter(store=store)
    if selection is not None:
        base = base.filter(pk__in=selection.values("id"))
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, delimiter=dialect.delimiter, lineterminator="\n")
    last_id, done = 0, 0
    with timezone.override(store.time_zone):
        while True:
            chunk = list(
                base.filter(pk__gt=last_id).select_related("group").order_by("pk")[:CHUNK_ROWS]
            )
            if not chunk:
                break
            last_id = chunk[-1].pk
            writer.writerows(_python_rows(store, chunk, columns, custom, dialect))
            done += len(chunk)
            if on_progress:
                on_progress(done, total)
    text.detach()


def _python_rows(
    store: Store,
    chunk: list[Customer],
    columns: list[Column],
    custom: list[CustomField],
    dialect: CsvDialect,
) -> Iterable[list[str]]:
    ids = [c.pk for c in chunk]
    tags: dict[int, list[str]] = {}
    for customer_id, name in TaggedCustomer.objects.filter(
        store=store, content_object_id__in=ids
    ).values_list("content_object_id", "tag__name"):
        tags.setdefault(customer_id, []).append(name)
    addresses = {
        (a.customer_id, a.kind): a
        for a in Address.objects.filter(store=store, customer_id__in=ids, is_default=True)
    }
    for customer in chunk:
        row = []
        for column in columns:
            name = column.attribute
            if name == "average_order_value":
                value: Any = (
                    (customer.total_spent / customer.orders_count).quantize(
                        Decimal("0.01"), rounding=ROUND_HALF_UP
                    )
                    if customer.orders_count
                    else "0.00"
                )
            elif name == "group_name":
                value = customer.group.name
            elif name == "tag_names":
                value = tags_render(sorted(tags.get(customer.pk, []), key=str.lower)) or None
            elif name.startswith(("shipping_", "billing_")):
                kind, _sep, part = name.partition("_")
                address = addresses.get((customer.pk, kind))
                value = getattr(address, part) if address and part in ADDRESS_PARTS else None
            else:
                value = getattr(customer, name)
            row.append(_cell(column, value, dialect))
        row.extend(_custom_cell(customer.custom_fields.get(field.key), dialect) for field in custom)
        yield row
