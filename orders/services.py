"""Writes on orders. Every change recomputes the affected customers' aggregates in the
same transaction, so ``Customer.orders_count`` and friends always equal what orders say."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, DecimalField, IntegerField, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Round
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services.activity import activity_record
from customers.services.customers import customer_get_or_create_for_order, email_validate
from storefront_crm.errors import ServiceError
from storefront_crm.models import Store

from .models import (
    UNCOUNTED_STATUSES,
    Order,
    OrderItem,
    OrderSequence,
    OrderStatus,
    PaymentStatus,
    Product,
)

CENT = Decimal("0.01")
COUNTED = ~Q(status__in=UNCOUNTED_STATUSES)


@dataclass(frozen=True)
class ItemInput:
    name: str
    unit_price: Decimal
    quantity: int = 1
    sku: str = ""
    product: Product | None = None


# --- Aggregates -----------------------------------------------------------------------


def customer_stats_recompute(*, store: Store, customer_ids: Iterable[int | None]) -> None:
    """Set the aggregates of these customers from their orders (cancelled and rejected
    orders excluded; refunds not deducted: original totals incl. shipping, tax, discounts)."""
    ids = sorted({pk for pk in customer_ids if pk is not None})
    if not ids:
        return
    # Lock in id order so two transactions touching the same customers cannot deadlock.
    list(
        Customer.objects.select_for_update()
        .filter(store=store, pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _stats_update(store, Customer.objects.filter(store=store, pk__in=ids))


def customer_stats_recompute_store(*, store: Store) -> int:
    """Rebuild every customer's aggregates of a store in one set-based UPDATE."""
    with transaction.atomic():
        return _stats_update(store, Customer.objects.filter(store=store))


def _stats_update(store: Store, customers: Any) -> int:
    """One set-based UPDATE of the customers' aggregates from their counted orders (a
    thousand customers of an import batch cost one statement, not a CASE per row)."""
    counted = Order.objects.filter(store=store, customer=OuterRef("pk")).filter(COUNTED)

    def per_customer(expression: Any, output: Any) -> Subquery:
        return Subquery(
            counted.values("customer").annotate(value=expression).values("value"),
            output_field=output,
        )

    money: DecimalField = DecimalField(max_digits=14, decimal_places=2)
    return customers.update(
        orders_count=Coalesce(per_customer(Count("id"), IntegerField()), 0),
        # Rounded: SQLite sums money as floating point (100.10 + 81.73 = 181.8299…), which
        # shows as 181.83 but then fails "spent ≥ 181.83" and repeats rows across pages.
        total_spent=Coalesce(
            per_customer(Round(Sum("total"), 2), money), Decimal("0"), output_field=money
        ),
        first_order_at=per_customer(Min("placed_at"), Order._meta.get_field("placed_at")),
        last_order_at=per_customer(Max("placed_at"), Order._meta.get_field("placed_at")),
    )


# --- Orders ---------------------------------------------------------------------------


def _subtotal(items: Sequence[ItemInput]) -> Decimal:
    return sum((_money(item.unit_price, "items") * item.quantity for item in items), Decimal("0"))


def _items_write(store: Store, order: Order, items: Sequence[ItemInput]) -> None:
    OrderItem.objects.bulk_create(
        OrderItem(
            store=store,
            order=order,
            product=item.product,
            name=item.name,
            sku=item.sku,
            quantity=item.quantity,
            unit_price=_money(item.unit_price, "items"),
        )
        for item in items
    )


def _next_number(store: Store) -> int:
    sequence, _created = OrderSequence.objects.select_for_update().get_or_create(store=store)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except Exception:
        raise ServiceError(
            _("“%(value)s” is not an amount of money.") % {"value": value}, field=field
        ) from None
    if amount < 0:
        raise ServiceError(_("An amount cannot be negative."), field=field)
    return amount


@transaction.atomic
def order_create(
    *,
    store: Store,
    actor: Any = None,
    email: str,
    items: Sequence[ItemInput],
    customer: Customer | None = None,
    discount: Any = 0,
    shipping: Any = 0,
    tax: Any = 0,
    status: str = OrderStatus.NEW,
    payment_status: str = PaymentStatus.PENDING,
    fulfillment_status: str | None = None,
    shipping_method: str = "",
    shipping_address: dict | None = None,
    billing_address: dict | None = None,
    is_digital: bool = False,
    placed_at: datetime | None = None,
    customer_defaults: dict[str, Any] | None = None,
) -> Order:
    """Place an order with the next number of the store.

    A paid order for an email without a profile creates the profile (source "order"); an
    order for an email that has a profile (any letter case) joins it.
    """
    email = email_validate(email)
    if not items:
        raise ServiceError(_("An order needs at least one item."), field="items")
    if customer is not None and customer.store_id != store.pk:
        raise ServiceError(_("That customer does not exist."), field="customer")
    for item in items:
        if item.product is not None and item.product.store_id != store.pk:
            raise ServiceError(_("That product does not exist."), field="items")
        if item.quantity < 1:
            raise ServiceError(_("Quantities start at 1."), field="items")
    subtotal = _subtotal(items)
    discount_amount = _money(discount, "discount")
    shipping_amount = _money(shipping, "shipping")
    tax_amount = _money(tax, "tax")
    total = subtotal - discount_amount + shipping_amount + tax_amount
    if total < 0:
        raise ServiceError(_("The discount is larger than the order."), field="discount")
    if customer is None:
        customer = _customer_for_email(store, email, payment_status, customer_defaults)
    order = Order.objects.create(
        store=store,
        number=_next_number(store),
        customer=customer,
        email=email,
        subtotal=subtotal,
        discount=discount_amount,
        shipping=shipping_amount,
        tax=tax_amount,
        total=total,
        currency=store.currency,
        status=status,
        payment_status=payment_status,
        fulfillment_status=fulfillment_status or ("not_required" if is_digital else "unfulfilled"),
        shipping_method=shipping_method,
        shipping_address=shipping_address or {},
        billing_address=billing_address or {},
        is_digital=is_digital,
        placed_at=placed_at or timezone.now(),
    )
    _items_write(store, order, items)
    customer_stats_recompute(store=store, customer_ids=[order.customer_id])
    if order.customer_id:
        activity_record(
            store=store,
            customer=order.customer,
            actor=actor,
            verb="order.placed",
            at=order.placed_at,
            order=order.number,
        )
    return order


def _customer_for_email(
    store: Store, email: str, payment_status: str, defaults: dict[str, Any] | None
) -> Customer | None:
    existing = Customer.objects.filter(store=store, email=email).first()
    if existing is not None or payment_status != PaymentStatus.PAID:
        return existing
    return customer_get_or_create_for_order(store=store, email=email, defaults=defaults)


ORDER_EDITABLE = {
    "discount",
    "shipping",
    "tax",
    "status",
    "fulfillment_status",
    "shipping_method",
    "shipping_address",
    "billing_address",
    "is_digital",
    "placed_at",
}


@transaction.atomic
def order_update(*, store: Store, order: Order, actor: Any = None, **changes: Any) -> Order:
    """Edit an order; totals are recalculated and the customer's aggregates follow."""
    unknown = set(changes) - ORDER_EDITABLE
    if unknown:
        raise TypeError(f"Order fields not editable here: {sorted(unknown)}")
    order = Order.objects.select_for_update().get(store=store, pk=order.pk)
    for name, value in changes.items():
        if name in {"discount", "shipping", "tax"}:
            value = _money(value, name)
        setattr(order, name, value)
    order.total = order.subtotal - order.discount + order.shipping + order.tax
    if order.total < 0:
        raise ServiceError(_("The discount is larger than the order."), field="discount")
    order.save()
    customer_stats_recompute(store=store, customer_ids=[order.customer_id])
    if order.customer_id:
        activity_record(
            store=store,
            customer=order.customer,
            actor=actor,
            verb="order.updated",
            order=order.number,
            fields=sorted(changes),
        )
    return order


@transaction.atomic
def order_items_replace(
    *, store: Store, order: Order, items: Sequence[ItemInput], actor: Any = None
) -> Order:
    """Replace the items of an order and recompute its subtotal and total."""
    if not items:
        raise ServiceError(_("An order needs at least one item."), field="items")
    order = Order.objects.select_for_update().get(store=store, pk=order.pk)
    OrderItem.objects.filter(store=store, order=order).delete()
    _items_write(store, order, items)
    order.subtotal = _subtotal(items)
    order.total = order.subtotal - order.discount + order.shipping + order.tax
    order.save(update_fields=["subtotal", "total", "updated_at"])
    customer_stats_recompute(store=store, customer_ids=[order.customer_id])
    return order


@transaction.atomic
def order_cancel(*, store: Store, order: Order, actor: Any = None, rejected: bool = False) -> Order:
    status = OrderStatus.REJECTED if rejected else OrderStatus.CANCELLED
    return order_update(store=store, order=order, actor=actor, status=status)


@transaction.atomic
def order_payment_set(
    *, store: Store, order: Order, payment_status: str, actor: Any = None
) -> Order:
    """Record a payment state; a newly paid order without a profile gets one."""
    if payment_status not in PaymentStatus.values:
        raise ServiceError(_("Unknown payment status."), field="payment_status")
    order = Order.objects.select_for_update().get(store=store, pk=order.pk)
    order.payment_status = payment_status
    if order.customer_id is None and payment_status == PaymentStatus.PAID:
        order.customer = customer_get_or_create_for_order(store=store, email=order.email)
    order.save()
    customer_stats_recompute(store=store, customer_ids=[order.customer_id])
    return order


@transaction.atomic
def order_reassign(
    *, store: Store, order: Order, customer: Customer | None, actor: Any = None
) -> Order:
    """Move an order to another customer (or none); both customers' aggregates follow."""
    if customer is not None and customer.store_id != store.pk:
        raise ServiceError(_("That customer does not exist."), field="customer")
    order = Order.objects.select_for_update().get(store=store, pk=order.pk)
    previous = order.customer_id
    order.customer = customer
    order.save(update_fields=["customer", "updated_at"])
    customer_stats_recompute(store=store, customer_ids=[previous, order.customer_id])
    return order


@transaction.atomic
def order_delete(*, store: Store, order: Order, actor: Any = None) -> None:
    customer_id = order.customer_id
    Order.objects.filter(store=store, pk=order.pk).delete()
    customer_stats_recompute(store=store, customer_ids=[customer_id])
