"""What the store-level setup services (groups, tags, custom fields) share: one writer
at a time, the name rules, and the store-level event of the audit trail."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.models import Store

from .activity import activity_record


def store_setup_lock(store: Store) -> None:
    """One writer of a store's groups, tags or fields at a time (a row lock on the store,
    held to the end of the transaction), so two requests cannot both pass a uniqueness or
    limit check."""
    Store.objects.select_for_update().filter(pk=store.pk).first()


def store_event_record(*, store: Store, actor: Any, verb: str, **data: Any) -> None:
    # A change to the store's setup rather than to one customer: the audit trail keeps it
    # without a customer.
    activity_record(store=store, customer=None, actor=actor, verb=verb, **data)


def free_name(base: str, taken: set[str] | frozenset[str], *, separator: str) -> str:
    """``base``, or ``base`` with the first suffix no name in ``taken`` has (``vip-2``,
    ``size_3``, …)."""
    name, suffix = base, 1
    while name in taken:
        suffix += 1
        name = f"{base}{separator}{suffix}"
    return name


def setup_name_clean(name: str, *, max_length: int, field: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_("Enter a name."), field=field)
    if len(name) > max_length:
        raise ServiceError(
            ngettext(
                "A name can have at most %(max)d character.",
                "A name can have at most %(max)d characters.",
                max_length,
            )
            % {"max": max_length},
            field=field,
        )
    return name
