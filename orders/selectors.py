"""Reads on orders."""

from datetime import timedelta
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from customers.models import Customer
from storefront_crm.models import Store

from .models import UNCOUNTED_STATUSES, Order, OrderStatus


def order_list(*, store: Store) -> QuerySet[Order]:
    return Order.objects.filter(store=store).select_related("customer")


def customer_orders(*, store: Store, customer: Customer) -> QuerySet[Order]:
    return Order.objects.filter(store=store, customer=customer).order_by("-placed_at", "-id")


def sales_last_days(*, store: Store, days: int = 30) -> dict[str, Any]:
    since = timezone.now() - timedelta(days=days)
    return (
        Order.objects.filter(store=store, placed_at__gte=since)
        .exclude(status__in=UNCOUNTED_STATUSES)
        .aggregate(orders=Count("*"), revenue=Sum("total"))
    )


def unprocessed_count(*, store: Store) -> int:
    return Order.objects.filter(store=store, status=OrderStatus.NEW).count()


def customer_last_counted_order(*, store: Store, customer: Customer) -> Order | None:
    """The customer's most recent order that counts (not cancelled or rejected): its
    addresses are the ones the profile shows."""
    return (
        Order.objects.filter(store=store, customer=customer)
        .exclude(status__in=UNCOUNTED_STATUSES)
        .order_by("-placed_at", "-id")
        .first()
    )
