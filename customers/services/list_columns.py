"""The customer list's columns that a staff member chooses, per store."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from storefront_crm.errors import ServiceError
from storefront_crm.models import Store

from ..models import CustomerListLayout
from ..selectors_setup import custom_field_definitions

# Every column the list can show (``customers.views.listing_rows.LIST_COLUMNS`` renders
# them); a custom field's column is ``cf:<key>``.
LIST_COLUMN_KEYS = (
    "name",
    "email",
    "phone",
    "country",
    "city",
    "group",
    "tags",
    "orders",
    "spent",
    "aov",
    "first_order",
    "last_order",
    "since",
    "since_time",
    "marketing",
    "account",
    "source",
)
DEFAULT_LIST_COLUMNS = (
    "name",
    "email",
    "group",
    "tags",
    "orders",
    "spent",
    "last_order",
    "since",
    "account",
    "marketing",
)
CUSTOM_FIELD_COLUMN = "cf:"
# The name links to the profile: every choice keeps it, first.
REQUIRED_COLUMN = "name"


def list_columns_valid(*, store: Store, columns: list[str]) -> list[str]:
    """``columns`` that still exist (a custom field may have gone since), in order, each
    once, the name first."""
    fields = (
        custom_field_definitions(store=store)
        if any(column.startswith(CUSTOM_FIELD_COLUMN) for column in columns)
        else {}
    )
    known = [
        column
        for column in dict.fromkeys(columns)
        if column in LIST_COLUMN_KEYS
        or (column.startswith(CUSTOM_FIELD_COLUMN) and column[len(CUSTOM_FIELD_COLUMN) :] in fields)
    ]
    return [REQUIRED_COLUMN, *(column for column in known if column != REQUIRED_COLUMN)]


@transaction.atomic
def customer_list_columns_set(*, store: Store, actor: Any, columns: list[str] | None) -> list[str]:
    """Remember the columns (in order) that ``actor`` wants in the store's customer list;
    None goes back to the defaults. Unknown columns are refused."""
    if columns is None:
        CustomerListLayout.objects.filter(store=store, user=actor).delete()
        return list(DEFAULT_LIST_COLUMNS)
    chosen = list_columns_valid(store=store, columns=columns)
    unknown = [column for column in columns if column not in chosen]
    if unknown:
        raise ServiceError(
            _("The list has no column “%(column)s”.") % {"column": unknown[0][:60]},
            field="columns",
        )
    CustomerListLayout.objects.update_or_create(
        store=store, user=actor, defaults={"columns": chosen}
    )
    return chosen
