"""Reads for the setup pages of the customers area: groups, the store's tags, custom fields.

Each page is one query whatever the number of rows. Counts are correlated subqueries, one
index-only count per group or tag on the ``(store, group, id)`` / ``(store, tag, customer)``
indexes: on a million customers that is about 0.2 s where a join with GROUP BY reads the
whole table (about 1 s).
"""

import logging
from typing import Any

from django.core.cache import cache
from django.db.models import Case, Count, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Lower

from storefront_crm.models import Store

from .models import (
    Customer,
    CustomerGroup,
    CustomerListLayout,
    CustomerTag,
    CustomField,
    GroupKind,
    TaggedCustomer,
)

logger = logging.getLogger(__name__)


def _count_of(rows: QuerySet, by: str) -> Coalesce:
    counted = rows.order_by().values(by).annotate(count=Count("*")).values("count")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def groups_with_member_counts(*, store: Store) -> QuerySet[CustomerGroup]:
    """The store's groups, each with ``member_count``, defaults first, then by name."""
    return (
        CustomerGroup.objects.filter(store=store)
        .annotate(
            member_count=_count_of(
                Customer.objects.filter(store=store, group=OuterRef("pk")), "group"
            )
        )
        .order_by(
            Case(When(kind=GroupKind.CUSTOM, then=Value(1)), default=Value(0)),
            Lower("name"),
            "pk",
        )
    )


def tags_with_customer_counts(*, store: Store) -> QuerySet[CustomerTag]:
    """Every tag of the store (at most the tag limit) with ``customer_count``, by name."""
    return (
        CustomerTag.objects.filter(store=store)
        .annotate(
            customer_count=_count_of(
                TaggedCustomer.objects.filter(store=store, tag=OuterRef("pk")), "tag"
            )
        )
        .order_by(Lower("name"), "pk")
    )


def custom_fields_of(*, store: Store) -> QuerySet[CustomField]:
    """The store's custom fields in the merchant's order."""
    return CustomField.objects.filter(store=store).order_by("position", "pk")


def _definitions_key(store: Store) -> str:
    return f"customers:custom-field-definitions:{store.pk}"


def custom_field_definitions(*, store: Store) -> dict[str, tuple[str, str]]:
    """``{key: (label, type)}`` of the store's fields, in order, from the cache: every list
    page that shows a custom field column needs them, and they seldom change (the
    custom-field services forget them on every change)."""
    try:
        cached = cache.get(_definitions_key(store))
    except Exception:  # the cache is away: read them, as without one
        logger.warning("Cache unavailable; custom fields read from the database")
        cached = None
    if cached is not None:
        return cached
    definitions = {
        key: (label, field_type)
        for key, label, field_type in custom_fields_of(store=store).values_list(
            "key", "label", "field_type"
        )
    }
    try:
        cache.set(_definitions_key(store), definitions, 24 * 3600)
    except Exception:
        logger.warning("Cache unavailable; custom fields not cached")
    return definitions


def custom_field_definitions_forget(store: Store) -> None:
    try:
        cache.delete(_definitions_key(store))
    except Exception:  # noqa: BLE001 - kept a day at most, and only labels
        logger.warning("Cache unavailable; custom field definitions stay cached")


def customer_list_columns_saved(*, store: Store, user: Any) -> list[str] | None:
    """The columns ``user`` chose for the store's customer list, or None (the defaults)."""
    return (
        CustomerListLayout.objects.filter(store=store, user=user)
        .values_list("columns", flat=True)
        .first()
    )


def custom_field_values_count(*, store: Store, field: CustomField) -> int:
    """How many customers of the store have a value for ``field``."""
    return Customer.objects.filter(store=store, custom_fields__has_key=field.key).count()


def default_group_names(*, store: Store) -> dict[str, str]:
    """The names of the store's default groups by kind (``GroupKind.GUESTS``/``STANDARD``):
    merchants can rename them, so texts about them use these. A missing one (never in a
    store set up normally) falls back to its kind's label."""
    names: dict[str, str] = {
        GroupKind.GUESTS: str(GroupKind.GUESTS.label),
        GroupKind.STANDARD: str(GroupKind.STANDARD.label),
    }
    names.update(
        CustomerGroup.objects.filter(store=store)
        .exclude(kind=GroupKind.CUSTOM)
        .values_list("kind", "name")
    )
    return names
