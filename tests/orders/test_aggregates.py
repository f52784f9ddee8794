"""Customer aggregates always equal what the orders say."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from customers.models import ActivityEvent, Customer, CustomerSource
from orders.models import Order, OrderStatus, PaymentStatus
from orders.services import (
    ItemInput,
    customer_stats_recompute_store,
    order_cancel,
    order_create,
    order_delete,
    order_items_replace,
    order_payment_set,
    order_reassign,
    order_update,
)
from tests.factories import CustomerFactory


def expected_stats(customer: Customer) -> tuple:
    counted = [
        o
        for o in Order.objects.filter(customer=customer)
        if o.status not in (OrderStatus.CANCELLED, OrderStatus.REJECTED)
    ]
    return (
        len(counted),
        sum((o.total for o in counted), Decimal("0")),
        min((o.placed_at for o in counted), default=None),
        max((o.placed_at for o in counted), default=None),
    )


def stored_stats(customer: Customer) -> tuple:
    customer.refresh_from_db()
    return (
        customer.orders_count,
        customer.total_spent,
        customer.first_order_at,
        customer.last_order_at,
    )


def items(amount: str = "20.00", quantity: int = 1) -> list[ItemInput]:
    return [ItemInput(name="Mug", unit_price=Decimal(amount), quantity=quantity)]


@pytest.mark.django_db
def test_totals_include_shipping_tax_and_discount_and_exclude_cancelled(store):
    customer = CustomerFactory(store=store)
    order_create(
        store=store,
        email=customer.email,
        items=items("30.00", 2),
        shipping="4.90",
        tax="5.00",
        discount="10.00",
    )
    second = order_create(store=store, email=customer.email, items=items("15.00"))
    customer.refresh_from_db()
    assert customer.orders_count == 2
    assert customer.total_spent == Decimal("74.90")
    assert customer.average_order_value == Decimal("37.45")
    order_cancel(store=store, order=second)
    assert stored_stats(customer)[:2] == (1, Decimal("59.90"))


@pytest.mark.django_db
def test_refunds_are_not_deducted(store):
    customer = CustomerFactory(store=store)
    order = order_create(
        store=store, email=customer.email, items=items("40.00"), payment_status=PaymentStatus.PAID
    )
    order_payment_set(store=store, order=order, payment_status=PaymentStatus.REFUNDED)
    assert stored_stats(customer)[:2] == (1, Decimal("40.00"))


@pytest.mark.django_db
def test_aggregates_stay_equal_to_the_orders_after_random_changes(store):
    rng = random.Random(20261126)
    customers = [CustomerFactory(store=store) for _ in range(5)]
    orders: list[Order] = []
    start = timezone.now() - timedelta(days=400)
    for step in range(120):
        action = rng.choice(
            ["create", "create", "edit", "cancel", "delete", "reassign", "items", "status"]
        )
        if action == "create" or not orders:
            customer = rng.choice(customers)
            orders.append(
                order_create(
                    store=store,
                    email=customer.email.upper() if step % 3 else customer.email,
                    items=items(
                        f"{rng.randint(1, 300)}.{rng.randint(0, 99):02d}", rng.randint(1, 4)
                    ),
                    shipping=Decimal(rng.choice(["0", "4.90", "9.90"])),
                    placed_at=start + timedelta(days=rng.randint(0, 400)),
                )
            )
            continue
        order = rng.choice(orders)
        if action == "edit":
            order_update(
                store=store,
                order=order,
                discount=Decimal(rng.randint(0, 5)),
                placed_at=start + timedelta(days=rng.randint(0, 400)),
            )
        elif action == "cancel":
            order_cancel(store=store, order=order, rejected=rng.random() < 0.3)
        elif action == "delete":
            order_delete(store=store, order=order)
            orders.remove(order)
        elif action == "reassign":
            order_reassign(store=store, order=order, customer=rng.choice([*customers, None]))
        elif action == "items":
            order_items_replace(store=store, order=order, items=items("12.50", 3))
        else:
            order_update(
                store=store,
                order=order,
                status=rng.choice([OrderStatus.NEW, OrderStatus.COMPLETED]),
            )
    for customer in customers:
        assert stored_stats(customer) == expected_stats(customer)


@pytest.mark.django_db
def test_recompute_command_rebuilds_broken_aggregates(store):
    customer = CustomerFactory(store=store)
    order_create(store=store, email=customer.email, items=items("25.00"))
    Customer.objects.filter(pk=customer.pk).update(orders_count=99, total_spent=Decimal("1"))
    call_command("recompute_customer_stats", "--store", store.slug)
    assert stored_stats(customer) == expected_stats(customer)
    assert customer_stats_recompute_store(store=store) == 1


@pytest.mark.django_db
def test_a_paid_order_for_a_new_email_creates_the_profile(store):
    order = order_create(
        store=store, email="New.Buyer@Example.org", items=items(), payment_status=PaymentStatus.PAID
    )
    customer = order.customer
    assert customer is not None
    assert customer.email == "new.buyer@example.org"
    assert customer.source == CustomerSource.ORDER
    assert customer.group.kind == "guests"
    assert stored_stats(customer)[0] == 1


@pytest.mark.django_db
def test_a_second_order_with_the_same_email_in_any_case_joins_the_same_profile(store):
    first = order_create(
        store=store, email="anna@example.org", items=items(), payment_status=PaymentStatus.PAID
    )
    second = order_create(
        store=store,
        email="ANNA@Example.ORG",
        items=items("5.00"),
        payment_status=PaymentStatus.PAID,
    )
    assert first.customer_id == second.customer_id
    assert Customer.objects.filter(store=store).count() == 1
    assert stored_stats(first.customer)[:2] == (2, Decimal("25.00"))


@pytest.mark.django_db
def test_an_unpaid_order_creates_no_profile_until_it_is_paid(store):
    order = order_create(store=store, email="later@example.org", items=items())
    assert order.customer is None
    assert not Customer.objects.filter(store=store).exists()
    order = order_payment_set(store=store, order=order, payment_status=PaymentStatus.PAID)
    assert order.customer.email == "later@example.org"
    assert stored_stats(order.customer)[0] == 1


@pytest.mark.django_db
def test_order_numbers_are_sequential_per_store(store, other_store):
    from storefront_crm.tenancy import store_scope

    numbers = [
        order_create(store=store, email="a@example.org", items=items()).number for _ in range(3)
    ]
    with store_scope(other_store):
        other = order_create(store=other_store, email="a@example.org", items=items())
    assert numbers == [1, 2, 3]
    assert other.number == 1


@pytest.mark.django_db
def test_money_is_decimal_and_negative_amounts_are_refused(store):
    from storefront_crm.errors import ServiceError

    order = order_create(store=store, email="m@example.org", items=items("0.10", 3))
    order.refresh_from_db()
    assert order.total == Decimal("0.30")
    with pytest.raises(ServiceError):
        order_create(store=store, email="m@example.org", items=items(), shipping="-1")


@pytest.mark.django_db
def test_an_order_entered_later_is_logged_at_the_time_it_was_placed(store):
    customer = CustomerFactory(store=store)
    placed_at = timezone.now() - timedelta(days=40)

    order = order_create(store=store, email=customer.email, items=items(), placed_at=placed_at)

    event = ActivityEvent.objects.get(customer=customer, verb="order.placed")
    assert event.created_at == placed_at and event.data == {"order": order.number}
