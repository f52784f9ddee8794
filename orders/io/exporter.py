"""Order and ordered-product exports, streamed so memory stays flat at any size.

Orders are read in keyset chunks by number (the ``(store, number)`` unique index), their
items one query per chunk, and written as the native order format (``formats``): one row
per item. Text cells go through ``customers.io.widgets.formula_escape``, the same
neutralisation the customer export uses, which the importer reverses.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.db.models import Count, DecimalField, ExpressionWrapper, F, QuerySet, Sum
from django.utils import timezone

from customers.io.formats import ADDRESS_KINDS, ADDRESS_PARTS
from customers.io.widgets import formula_escape
from storefront_crm.models import Store

from ..models import UNCOUNTED_STATUSES, Order, OrderItem, Product
from .formats import COLUMNS, PRODUCT_HEADER

CHUNK_ORDERS = 1000
ProgressCallback = Callable[[int, int], None]

ORDER_FIELDS = (
    "id",
    "number",
    "placed_at",
    "email",
    "customer__email",
    "status",
    "payment_status",
    "fulfillment_status",
    "currency",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "total",
    "shipping_method",
    "is_digital",
    "shipping_address",
    "billing_address",
)


def placed_between(
    store: Store, orders: QuerySet[Order], date_from: date | None, date_to: date | None
) -> QuerySet[Order]:
    """Orders placed on these days of the store's calendar, both days included."""
    zone = ZoneInfo(store.time_zone)
    if date_from is not None:
        orders = orders.filter(placed_at__gte=datetime.combine(date_from, time(), zone))
    if date_to is not None:
        end = datetime.combine(date_to + timedelta(days=1), time(), zone)
        orders = orders.filter(placed_at__lt=end)
    return orders


def _writer(out: IO[bytes]) -> tuple[io.TextIOWrapper, Any]:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    return text, csv.writer(text, lineterminator="\n")


def orders_export(
    *,
    store: Store,
    out: IO[bytes],
    date_from: date | None = None,
    date_to: date | None = None,
    status: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Write the store's orders (placed in the date range, by number) as native CSV to
    ``out``, one row per item; returns the number of orders."""
    orders = placed_between(store, Order.objects.filter(store=store), date_from, date_to)
    if status:
        orders = orders.filter(status=status)
    total = orders.count()
    text, writer = _writer(out)
    writer.writerow([column.column_name for column in COLUMNS])
    if on_progress:
        on_progress(0, total)
    zone = ZoneInfo(store.time_zone)
    done, last_number = 0, 0
    while True:
        chunk = list(
            orders.filter(number__gt=last_number)
            .order_by("number")
            .values_list(*ORDER_FIELDS)[:CHUNK_ORDERS]
        )
        if not chunk:
            break
        last_number = chunk[-1][1]
        writer.writerows(_order_rows(store, chunk, zone))
        done += len(chunk)
        if on_progress:
            on_progress(done, total)
    text.detach()
    return done


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _order_rows(store: Store, chunk: list[tuple], zone: ZoneInfo) -> Iterator[list[str]]:
    items: dict[int, list[tuple]] = {}
    for row in (
        OrderItem.objects.filter(store=store, order_id__in=[o[0] for o in chunk])
        .order_by("order_id", "id")
        .values_list("order_id", "name", "sku", "quantity", "unit_price")
    ):
        items.setdefault(row[0], []).append(row[1:])
    for order in chunk:
        values = dict(zip(ORDER_FIELDS, order, strict=True))
        cells = [
            str(values["number"]),
            timezone.localtime(values["placed_at"], zone).isoformat(timespec="seconds"),
            formula_escape(values["email"]),
            formula_escape(values["customer__email"] or ""),
            values["status"],
            values["payment_status"],
            values["fulfillment_status"],
            values["currency"],
            *(_money(values[name]) for name in ("subtotal", "discount", "shipping", "tax")),
            _money(values["total"]),
            formula_escape(values["shipping_method"]),
            "yes" if values["is_digital"] else "no",
        ]
        for kind in ADDRESS_KINDS:
            address = values[f"{kind}_address"] or {}
            cells.extend(formula_escape(str(address.get(part) or "")) for part in ADDRESS_PARTS)
        # An order without items still gets its row, so no order is missing from the file.
        for name, sku, quantity, unit_price in items.get(values["id"]) or [("", "", "", None)]:
            yield [
                *cells,
                formula_escape(name),
                formula_escape(sku),
                str(quantity),
                "" if unit_price is None else _money(unit_price),
            ]


# --- Ordered products -------------------------------------------------------------------


def ordered_products(
    *, store: Store, date_from: date | None = None, date_to: date | None = None
) -> list[dict[str, Any]]:
    """One entry per product sold in orders that count (not cancelled or rejected): the
    quantity, the number of orders, the item sales (unit prices × quantities, before order
    discounts) and the product's supplier with its price. Items without a linked product
    are grouped by name and SKU. Most sold first."""
    orders = placed_between(
        store,
        Order.objects.filter(store=store).exclude(status__in=UNCOUNTED_STATUSES),
        date_from,
        date_to,
    )
    items = OrderItem.objects.filter(store=store, order__in=orders.values("id"))
    line = ExpressionWrapper(
        F("quantity") * F("unit_price"), output_field=DecimalField(max_digits=14, decimal_places=2)
    )
    measures = {
        "quantity_sold": Sum("quantity"),
        "orders": Count("order_id", distinct=True),
        "sales": Sum(line),
    }
    linked = items.filter(product__isnull=False).values("product_id").annotate(**measures)
    products = {
        p.pk: p
        for p in Product.objects.filter(
            store=store, pk__in=items.filter(product__isnull=False).values("product_id")
        )
    }
    entries = [
        {
            "name": products[row["product_id"]].name,
            "sku": products[row["product_id"]].sku,
            "supplier": products[row["product_id"]].supplier,
            "supplier_price": products[row["product_id"]].supplier_price,
            **row,
        }
        for row in linked
    ]
    entries.extend(
        {"supplier": "", "supplier_price": None, **row}
        for row in items.filter(product__isnull=True).values("name", "sku").annotate(**measures)
    )
    entries.sort(key=lambda e: (-e["quantity_sold"], e["name"].lower(), e["sku"]))
    return entries


def ordered_products_export(
    *,
    store: Store,
    out: IO[bytes],
    date_from: date | None = None,
    date_to: date | None = None,
    on_progress: ProgressCallback | None = None,
) -> int:
    """The ordered-products list as CSV; returns the number of products."""
    entries = ordered_products(store=store, date_from=date_from, date_to=date_to)
    text, writer = _writer(out)
    writer.writerow(PRODUCT_HEADER)
    writer.writerows(_product_rows(entries))
    text.detach()
    if on_progress:
        on_progress(len(entries), len(entries))
    return len(entries)


def _product_rows(entries: Iterable[dict[str, Any]]) -> Iterator[list[str]]:
    for entry in entries:
        price = entry["supplier_price"]
        yield [
            formula_escape(entry["name"]),
            formula_escape(entry["sku"]),
            str(entry["quantity_sold"]),
            str(entry["orders"]),
            _money(entry["sales"] or Decimal("0")),
            formula_escape(entry["supplier"]),
            "" if price is None else _money(price),
        ]
