"""Order import from the native order CSV (``orders.io.formats``).

Rules (documented for merchants in the command's help):

- An order is the consecutive rows with the same ``Order Number``; the same number again
  further down the file is a problem (the rows of an order belong together).
- **All or nothing**: when any row has a problem, nothing is written (orders change
  customers' aggregates and number sequences; half a file is worse than none). A dry run
  does the same checks and says what would happen.
- An order number that already exists in the store is **skipped** and reported, never
  updated: running the same file twice imports it once, and an import never rewrites the
  history of orders already in the store.
- The file's numbers are kept; the store's ``OrderSequence`` moves past the highest one,
  so orders placed afterwards continue the numbering.
- Customers follow ``order_create``: ``Customer Email`` (when given) names the profile the
  order belongs to (created when missing); otherwise a profile with the order's email
  takes the order, and a paid order for an email without a profile creates one (as
  ``customer_get_or_create_for_order`` would, in bulk). The aggregates of every touched
  customer are recomputed once per batch, in the same transaction as the batch.
- Subtotal must be the sum of the items, total = subtotal − discount + shipping + tax;
  empty money cells are computed (subtotal, total) or zero (discount, shipping, tax).
- Memory stays bounded: the file is streamed twice (check, then write) and only one
  batch of orders is held at a time; the writes are one transaction.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, BinaryIO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from customers.io.formats import ADDRESS_KINDS, ADDRESS_PARTS
from customers.io.reader import FileInfo, FileProblem, file_sniff, rows_read
from customers.models import AccountType, ActivityEvent, Customer, CustomerSource
from customers.services.groups import group_default
from storefront_crm.models import Store

from ..models import (
    FulfillmentStatus,
    Order,
    OrderItem,
    OrderSequence,
    OrderStatus,
    PaymentStatus,
    Product,
)
from ..services import customer_stats_recompute
from .formats import COLUMNS, ORDER_COLUMNS, REQUIRED

BATCH_ORDERS = 1000
MAX_ERRORS_KEPT = 1000
PROGRESS_EVERY = 1000
ProgressCallback = Callable[[int, int, dict[str, int]], None]


@dataclass
class ItemDraft:
    name: str
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass
class OrderDraft:
    number: int
    row: int  # the spreadsheet row of its first line
    values: dict[str, Any]
    value_rows: dict[str, int]  # which row gave each order value (for "differs from row N")
    items: list[ItemDraft] = field(default_factory=list)
    bad: bool = False


@dataclass
class OrderImportResult:
    dry_run: bool
    encoding: str = ""
    delimiter: str = ","
    rows: int = 0
    orders: int = 0
    created: int = 0
    items: int = 0
    customers_created: int = 0
    skipped: int = 0
    skipped_numbers: list[int] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    last_number: int | None = None  # the store's sequence after the import

    @property
    def failed(self) -> bool:
        return self.error_count > 0

    def error_add(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"row": row, "column": column, "message": message})

    def skip(self, number: int, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        if len(self.skipped_numbers) < 50:
            self.skipped_numbers.append(number)

    def counts(self) -> dict[str, int]:
        return {
            "orders": self.orders,
            "created": self.created,
            "items": self.items,
            "customers_created": self.customers_created,
            "skipped": self.skipped,
            "problems": self.error_count,
        }


def orders_import(
    *,
    store: Store,
    source: BinaryIO,
    dry_run: bool = False,
    actor: Any = None,
    encoding: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> OrderImportResult:
    """Check the file, then (unless a dry run or anything is wrong) create its orders.

    Raises ``FileProblem`` for a file that cannot be read at all (size, binary, empty,
    required columns missing, a line too long)."""
    info = file_sniff(source, encoding=encoding)
    result = OrderImportResult(dry_run=dry_run, encoding=info.encoding, delimiter=info.delimiter)
    positions = _columns_locate(info, result)
    total = info.data_rows * (1 if dry_run else 2)

    def progress(done: int) -> None:
        if on_progress:
            on_progress(done, total, result.counts())

    with timezone.override(store.time_zone):  # a time without an offset is the store's
        plan = _Plan(store)
        for batch in _batches(_drafts(source, info, positions, store, result, progress)):
            plan.check(batch, result)
        result.created = result.orders - result.skipped
        if result.failed or dry_run:
            result.customers_created = plan.new_profiles
            if result.failed:
                result.created = 0
            progress(total)
            return result
        result.created = result.skipped = result.items = 0
        result.reasons, result.skipped_numbers = {}, []
        _write(store, actor, source, info, positions, result, progress, info.data_rows)
    progress(total)
    return result


def _columns_locate(info: FileInfo, result: OrderImportResult) -> dict[str, int]:
    """Which cell holds each column (first header variant present wins)."""
    index = {}
    for position, header in enumerate(info.header):
        index.setdefault(header.strip().lower(), position)
    positions: dict[str, int] = {}
    for column in COLUMNS:
        for header in column.headers:
            if header.lower() in index:
                positions[column.attribute] = index[header.lower()]
                break
    missing = [
        c.column_name for c in COLUMNS if c.attribute in REQUIRED and c.attribute not in positions
    ]
    if missing:
        raise FileProblem(
            _("The file lacks required order columns: %(columns)s.")
            % {"columns": ", ".join(missing)}
        )
    used = set(positions.values())
    result.ignored_columns = [
        header for position, header in enumerate(info.header) if position not in used and header
    ]
    return positions


# --- Reading: rows → order drafts ---------------------------------------------------------


def _drafts(
    source: BinaryIO,
    info: FileInfo,
    positions: dict[str, int],
    store: Store,
    result: OrderImportResult,
    progress: Callable[[int], None],
    progress_offset: int = 0,
) -> Iterator[OrderDraft]:
    """Every order of the file, each checked (``bad`` when any of its rows had a problem)."""
    seen: dict[int, int] = {}  # order number → its first row (bounded by the file's size)
    current: OrderDraft | None = None
    done = 0
    for row, cells in rows_read(source, info):
        done += 1
        if done % PROGRESS_EVERY == 0:
            progress(progress_offset + done)
        result.rows = done
        values, problems = _row_clean(row, cells, positions)
        for column, message in problems:
            result.error_add(row, column, message)
        number = values.get("number")
        if number is None:
            if current is not None:
                current.bad = True
            continue
        if current is None or number != current.number:
            if current is not None:
                yield _order_finish(current, store, result)
            if number in seen:
                result.error_add(
                    row,
                    "Order Number",
                    _(
                        "Order %(number)d already started at row %(first)d: the rows of an "
                        "order must be next to each other."
                    )
                    % {"number": number, "first": seen[number]},
                )
            seen.setdefault(number, row)
            order_values = {c.attribute: values.get(c.attribute) for c in ORDER_COLUMNS}
            current = OrderDraft(
                number=number,
                row=row,
                values=order_values,
                value_rows=dict.fromkeys(order_values, row),
                bad=bool(problems) or number in seen and seen[number] != row,
            )
        else:
            current.bad = current.bad or bool(problems)
            _repeat_check(current, row, cells, values, positions, result)
        if not problems:
            current.items.append(
                ItemDraft(
                    name=values["item_name"],
                    sku=values.get("item_sku") or "",
                    quantity=values.get("item_quantity") or 1,
                    unit_price=values["item_unit_price"],
                )
            )
    if current is not None:
        yield _order_finish(current, store, result)


def _row_clean(
    row: int, cells: list[str], positions: dict[str, int]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column in COLUMNS:
        position = positions.get(column.attribute)
        text = cells[position] if position is not None and position < len(cells) else ""
        try:
            values[column.attribute] = column.widget.clean(text)
        except ValueError as error:
            problems.append((column.column_name, str(error)))
    if "item_name" in values and not values["item_name"]:
        problems.append(("Item Name", _("The item name is missing.")))
    if "item_unit_price" in values and values["item_unit_price"] is None:
        problems.append(("Item Unit Price", _("The unit price is missing.")))
    if values.get("item_quantity") == 0:
        problems.append(("Item Quantity", _("Quantities start at 1.")))
    if "placed_at" in values and values["placed_at"] is None:
        problems.append(("Placed At", _("The order date is missing.")))
    return values, problems


def _repeat_check(
    order: OrderDraft,
    row: int,
    cells: list[str],
    values: dict[str, Any],
    positions: dict[str, int],
    result: OrderImportResult,
) -> None:
    """A later row of an order may leave the order's columns empty; a value must match."""
    for column in ORDER_COLUMNS:
        position = positions.get(column.attribute)
        if position is None or position >= len(cells) or not cells[position].strip():
            continue
        value = values.get(column.attribute)
        if column.attribute not in values or value == order.values[column.attribute]:
            continue
        order.bad = True
        result.error_add(
            row,
            column.column_name,
            _("Differs from row %(first)d of the same order (%(number)d).")
            % {"first": order.value_rows[column.attribute], "number": order.number},
        )


def _order_finish(order: OrderDraft, store: Store, result: OrderImportResult) -> OrderDraft:
    """Defaults, currency and the arithmetic of the totals."""
    result.orders += 1
    result.items += len(order.items)
    values = order.values
    currency = values.get("currency") or store.currency
    if currency != store.currency:
        order.bad = True
        result.error_add(
            order.row,
            "Currency",
            _("The store sells in %(store)s; this order is in %(currency)s.")
            % {"store": store.currency, "currency": currency},
        )
    values["currency"] = store.currency
    if order.bad:
        return order
    zero = Decimal("0.00")
    items_sum = sum((item.unit_price * item.quantity for item in order.items), zero)
    if values["subtotal"] is not None and values["subtotal"] != items_sum:
        order.bad = True
        result.error_add(
            order.row,
            "Subtotal",
            _("The subtotal %(subtotal)s is not the sum of the items (%(items)s).")
            % {"subtotal": values["subtotal"], "items": items_sum},
        )
        return order
    values["subtotal"] = items_sum
    for name in ("discount", "shipping", "tax"):
        values[name] = values[name] if values[name] is not None else zero
    expected = items_sum - values["discount"] + values["shipping"] + values["tax"]
    if expected < 0:
        order.bad = True
        result.error_add(order.row, "Discount", _("The discount is larger than the order."))
    elif values["total"] is not None and values["total"] != expected:
        order.bad = True
        result.error_add(
            order.row,
            "Total",
            _(
                "The total %(total)s does not add up: subtotal %(subtotal)s − discount "
                "%(discount)s + shipping %(shipping)s + tax %(tax)s = %(expected)s."
            )
            % {**values, "expected": expected},
        )
    values["total"] = expected
    values["status"] = values["status"] or OrderStatus.NEW
    values["payment_status"] = values["payment_status"] or PaymentStatus.PENDING
    values["fulfillment_status"] = values["fulfillment_status"] or (
        FulfillmentStatus.NOT_REQUIRED if values["is_digital"] else FulfillmentStatus.UNFULFILLED
    )
    return order


def _batches(drafts: Iterator[OrderDraft]) -> Iterator[list[OrderDraft]]:
    batch: list[OrderDraft] = []
    for draft in drafts:
        batch.append(draft)
        if len(batch) >= BATCH_ORDERS:
            yield batch
            batch = []
    if batch:
        yield batch


# --- Which profile takes an order ---------------------------------------------------------


class _Plan:
    """The ``order_create`` rule for profiles, applied in file order: the explicit
    ``Customer Email``'s profile (created when missing), else the order email's profile,
    else a new profile when the order is paid, else none."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.known: set[str] = set()  # emails with a profile, in the store or planned
        self.new_profiles = 0

    def profile_email(self, values: dict[str, Any]) -> str | None:
        explicit = values.get("customer_email")
        if explicit:
            return explicit
        email = values["email"]
        if email in self.known or values["payment_status"] == PaymentStatus.PAID:
            return email
        return None

    def known_load(self, batch: list[OrderDraft]) -> None:
        emails = {d.values["email"] for d in batch} | {
            d.values["customer_email"] for d in batch if d.values.get("customer_email")
        }
        self.known |= set(
            Customer.objects.filter(store=self.store, email__in=emails - self.known).values_list(
                "email", flat=True
            )
        )

    def check(self, batch: list[OrderDraft], result: OrderImportResult) -> None:
        """Pass 1: existing numbers are skipped; count the profiles that would be new."""
        existing = _numbers_existing(self.store, batch)
        good = [d for d in batch if not d.bad]
        self.known_load(good)
        for draft in good:
            if draft.number in existing:
                result.skip(draft.number, SKIP_EXISTS)
                continue
            email = self.profile_email(draft.values)
            if email is not None and email not in self.known:
                self.known.add(email)
                self.new_profiles += 1


SKIP_EXISTS = gettext_noop("order number already exists in this store")


def _numbers_existing(store: Store, batch: list[OrderDraft]) -> set[int]:
    return set(
        Order.objects.filter(store=store, number__in=[d.number for d in batch]).values_list(
            "number", flat=True
        )
    )


# --- Writing -----------------------------------------------------------------------------


def _write(
    store: Store,
    actor: Any,
    source: BinaryIO,
    info: FileInfo,
    positions: dict[str, int],
    result: OrderImportResult,
    progress: Callable[[int], None],
    offset: int,
) -> None:
    """Pass 2, one transaction: the file was clean, so every draft is good. The store's
    order sequence stays locked throughout, so no order placed meanwhile takes a number."""
    check = OrderImportResult(dry_run=True)  # the second reading's own bookkeeping
    with transaction.atomic():
        sequence, _created = OrderSequence.objects.select_for_update().get_or_create(store=store)
        highest = sequence.last_number
        customers: dict[str, int] = {}
        for batch in _batches(_drafts(source, info, positions, store, check, progress, offset)):
            if check.failed:  # the file changed between the passes
                raise FileProblem(_("The file changed while it was imported."))
            created = _batch_write(store, actor, batch, customers, result)
            highest = max([highest, *(order.number for order in created)])
            progress(offset + check.rows)
        if highest != sequence.last_number:
            sequence.last_number = highest
            sequence.save(update_fields=["last_number"])
        result.last_number = highest
        result.orders = check.orders


def _batch_write(
    store: Store,
    actor: Any,
    batch: list[OrderDraft],
    customers: dict[str, int],
    result: OrderImportResult,
) -> list[Order]:
    existing = _numbers_existing(store, batch)
    fresh = []
    for draft in batch:
        if draft.number in existing:
            result.skip(draft.number, SKIP_EXISTS)
        else:
            fresh.append(draft)
    wanted = {d.values["email"] for d in fresh} | {
        d.values["customer_email"] for d in fresh if d.values["customer_email"]
    }
    customers.update(
        Customer.objects.filter(store=store, email__in=wanted - set(customers)).values_list(
            "email", "id"
        )
    )
    new_emails: list[str] = []
    for draft in fresh:
        values = draft.values
        email = values["customer_email"] or values["email"]
        if email not in customers and (
            values["customer_email"] or values["payment_status"] == PaymentStatus.PAID
        ):
            customers[email] = 0  # created below, before any order needs its id
            new_emails.append(email)
    customers.update(_profiles_create(store, actor, new_emails))
    result.customers_created += len(new_emails)
    orders = [
        _order_build(
            store,
            draft,
            customers.get(draft.values["customer_email"] or draft.values["email"]),
        )
        for draft in fresh
    ]
    Order.objects.bulk_create(orders)
    products = _products_by_sku(store, fresh)
    OrderItem.objects.bulk_create(
        OrderItem(
            store=store,
            order=order,
            product_id=products.get(item.sku) if item.sku else None,
            name=item.name,
            sku=item.sku,
            quantity=item.quantity,
            unit_price=item.unit_price,
        )
        for order, draft in zip(orders, fresh, strict=True)
        for item in draft.items
    )
    ActivityEvent.objects.bulk_create(
        ActivityEvent(
            store=store,
            customer_id=order.customer_id,
            actor=actor if getattr(actor, "pk", None) else None,
            verb="order.placed",
            data={"order": order.number, "source": "import"},
        )
        for order in orders
        if order.customer_id
    )
    customer_stats_recompute(store=store, customer_ids=[o.customer_id for o in orders])
    result.created += len(orders)
    result.items += sum(len(d.items) for d in fresh)
    return orders


def _profiles_create(store: Store, actor: Any, emails: list[str]) -> dict[str, int]:
    """``customer_get_or_create_for_order`` for a batch: guests from an order (source
    "order", the Guests group, a "customer.created" event each), in two statements. The
    emails were looked up in this transaction; a profile created meanwhile by a checkout
    makes the insert fail and the whole import roll back (run it again)."""
    if not emails:
        return {}
    group = group_default(store, AccountType.GUEST)
    created = Customer.objects.bulk_create(
        Customer(store=store, email=email, group=group, source=CustomerSource.ORDER)
        for email in emails
    )
    ActivityEvent.objects.bulk_create(
        ActivityEvent(
            store=store,
            customer=customer,
            actor=actor if getattr(actor, "pk", None) else None,
            verb="customer.created",
            data={"source": CustomerSource.ORDER},
        )
        for customer in created
    )
    return {customer.email: customer.pk for customer in created}


def _order_build(store: Store, draft: OrderDraft, customer_id: int | None) -> Order:
    values = draft.values
    addresses = {}
    for kind in ADDRESS_KINDS:
        parts = {part: values.get(f"{kind}_{part}") or "" for part in ADDRESS_PARTS}
        addresses[f"{kind}_address"] = parts if any(parts.values()) else {}
    placed_at: datetime = values["placed_at"]
    return Order(
        store=store,
        number=draft.number,
        customer_id=customer_id,
        email=values["email"],
        subtotal=values["subtotal"],
        discount=values["discount"],
        shipping=values["shipping"],
        tax=values["tax"],
        total=values["total"],
        currency=values["currency"],
        status=values["status"],
        payment_status=values["payment_status"],
        fulfillment_status=values["fulfillment_status"],
        shipping_method=values.get("shipping_method") or "",
        is_digital=bool(values.get("is_digital")),
        placed_at=placed_at,
        **addresses,
    )


def _products_by_sku(store: Store, drafts: list[OrderDraft]) -> dict[str, int]:
    """Items are linked to the store's product with the same SKU, when there is one."""
    skus = {item.sku for draft in drafts for item in draft.items if item.sku}
    if not skus:
        return {}
    return dict(Product.objects.filter(store=store, sku__in=skus).values_list("sku", "id"))


def import_summary_lines(result: OrderImportResult) -> list[str]:
    """What a person reads at the end (command output, job message)."""
    if result.failed:
        lines = [
            _(
                "Nothing was imported: %(count)d problem(s) in the file (orders are imported "
                "all or nothing)."
            )
            % {"count": result.error_count}
        ]
    elif result.dry_run:
        lines = [
            _(
                "Dry run (nothing written): %(created)d orders with their items would be "
                "created, %(skipped)d skipped, %(customers)d new customer profiles."
            )
            % {
                "created": result.created,
                "skipped": result.skipped,
                "customers": result.customers_created,
            }
        ]
    else:
        lines = [
            _(
                "%(created)d orders created (%(items)d items), %(skipped)d skipped, "
                "%(customers)d new customer profiles."
            )
            % {
                "created": result.created,
                "items": result.items,
                "skipped": result.skipped,
                "customers": result.customers_created,
            }
        ]
    for reason, count in sorted(result.reasons.items()):
        lines.append(_("  %(count)d × %(reason)s") % {"count": count, "reason": _(reason)})
    if result.skipped_numbers:
        lines.append(
            _("  Skipped order numbers: %(numbers)s")
            % {"numbers": ", ".join(f"#{n}" for n in result.skipped_numbers)}
            + (" …" if result.skipped > len(result.skipped_numbers) else "")
        )
    if result.ignored_columns:
        lines.append(
            _("Columns not imported: %(columns)s") % {"columns": ", ".join(result.ignored_columns)}
        )
    if result.last_number is not None and result.created:
        lines.append(_("New orders continue after #%(number)d.") % {"number": result.last_number})
    return lines
