"""Reads on customers. Every function takes the store explicitly."""

from typing import Any

from django.db.models import QuerySet

from storefront_crm.models import Store

from .models import Customer, CustomerNote, CustomerTag


def store_overview(*, store: Store) -> dict[str, Any]:
    customers = Customer.objects.filter(store=store)
    return {
        "recent_customers": list(customers.order_by("-customer_since", "-id")[:5]),
        "top_customers": list(
            customers.filter(orders_count__gt=0).order_by("-total_spent", "-id")[:5]
        ),
        "tag_count": CustomerTag.objects.filter(store=store).count(),
    }


def customer_list(*, store: Store) -> QuerySet[Customer]:
    return Customer.objects.filter(store=store).select_related("group").prefetch_related("tags")


def customer_notes(*, store: Store, customer: Customer) -> QuerySet[CustomerNote]:
    return CustomerNote.objects.filter(store=store, customer=customer).select_related("author")
