"""A customer's saved addresses, added, edited and deleted by staff: validated, written in
one transaction with an activity event.

At most one address per kind is the default (a partial unique constraint); making one the
default takes it from the other. The first address of a kind becomes its default, so a
customer with addresses of a kind always has one to preselect.
"""

import hashlib
import json
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.models import Store

from ..models import ADDRESS_PARTS, Address, AddressKind, Customer
from ..selectors import other_rows
from .activity import activity_record
from .customers import EditConflict, country_clean

# A saved address is one an order could be shipped or billed to.
ADDRESS_REQUIRED = ("line1", "city", "country")


def _address_clean(kind: str, fields: dict[str, Any]) -> dict[str, str]:
    """Trimmed values of every address field; errors name the field."""
    unknown = set(fields) - set(ADDRESS_PARTS)
    if unknown:
        raise TypeError(f"Unknown address fields: {sorted(unknown)}")
    if kind not in AddressKind.values:
        raise ServiceError(_("Choose shipping or billing."), field="kind")
    cleaned = {name: " ".join(str(fields.get(name) or "").split()) for name in ADDRESS_PARTS}
    cleaned["country"] = cleaned["country"].upper()
    for name in ADDRESS_REQUIRED:
        if not cleaned[name]:
            raise ServiceError(_("This field is required."), field=name)
    # the same ISO 3166-1 rule as the customer's own country
    cleaned["country"] = country_clean(cleaned["country"])
    for name, value in cleaned.items():
        field = Address._meta.get_field(name)
        limit = field.max_length if isinstance(field, models.CharField) else None
        if limit is not None and len(value) > limit:
            raise ServiceError(
                ngettext(
                    "At most %(limit)d character, not %(length)d.",
                    "At most %(limit)d characters, not %(length)d.",
                    limit,
                )
                % {"limit": limit, "length": len(value)},
                field=name,
            )
    return cleaned


def _customer_lock(store: Store, customer: Customer) -> None:
    """One writer of a customer's addresses at a time: the default moves between rows."""
    if customer.store_id != store.pk:
        raise ServiceError(_("That customer does not exist."))
    Customer.objects.select_for_update().filter(store=store, pk=customer.pk).first()


def address_fingerprint(address: Address) -> str:
    """What the address says now, as a short digest: the edit form carries the one it was
    opened with, and a save over a changed address is refused for review (addresses have
    no version column; their few fields make comparing them as cheap)."""
    values = {"kind": address.kind, "is_default": address.is_default}
    values.update({name: getattr(address, name) for name in ADDRESS_PARTS})
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:32]


def _default_take(store: Store, customer: Customer, kind: str, address_pk: int | None) -> None:
    defaults = Address.objects.filter(store=store, customer=customer, kind=kind, is_default=True)
    other_rows(defaults, address_pk).update(is_default=False)


@transaction.atomic
def address_add(
    *,
    store: Store,
    customer: Customer,
    actor: Any = None,
    kind: str,
    is_default: bool = False,
    **fields: Any,
) -> Address:
    """Save a new address for the customer."""
    cleaned = _address_clean(kind, fields)
    _customer_lock(store, customer)
    has_default = Address.objects.filter(
        store=store, customer=customer, kind=kind, is_default=True
    ).exists()
    is_default = is_default or not has_default
    if is_default:
        _default_take(store, customer, kind, None)
    address = Address.objects.create(
        store=store, customer=customer, kind=kind, is_default=is_default, **cleaned
    )
    activity_record(
        store=store,
        customer=customer,
        actor=actor,
        verb="address.added",
        kind=kind,
        address=str(address),
        is_default=is_default,
    )
    return address


@transaction.atomic
def address_edit(
    *,
    store: Store,
    address: Address,
    actor: Any = None,
    kind: str,
    is_default: bool,
    expected_fingerprint: str | None = None,
    **fields: Any,
) -> Address:
    """Change a saved address; the activity log lists the changed fields.

    ``expected_fingerprint`` is ``address_fingerprint`` of the address the form was opened
    with: when it has changed since, nothing is written and ``EditConflict`` is raised."""
    if address.store_id != store.pk:
        raise ServiceError(_("That address does not exist."))
    cleaned = _address_clean(kind, fields)
    customer = address.customer
    _customer_lock(store, customer)  # orders this save after any other one of its addresses
    if expected_fingerprint is not None:
        current = address_fingerprint(Address.objects.get(store=store, pk=address.pk))
        if current != expected_fingerprint:
            raise EditConflict(
                _(
                    "Someone else changed this address after you opened the form. Your "
                    "changes are not saved yet: compare them with the values saved now, then "
                    "save again to keep yours."
                ),
                current_version=current,
            )
    before = {"kind": address.kind, "is_default": address.is_default}
    before.update({name: getattr(address, name) for name in ADDRESS_PARTS})
    after = {"kind": kind, "is_default": bool(is_default), **cleaned}
    changes = {
        name: [str(before[name]), str(value)]
        for name, value in after.items()
        if before[name] != value
    }
    if not changes:
        return address
    if after["is_default"]:
        _default_take(store, customer, kind, address.pk)
    for name, value in after.items():
        setattr(address, name, value)
    address.save()
    activity_record(
        store=store,
        customer=customer,
        actor=actor,
        verb="address.edited",
        kind=kind,
        address=str(address),
        changes=changes,
    )
    return address


@transaction.atomic
def address_delete(*, store: Store, address: Address, actor: Any = None) -> None:
    """Delete a saved address. A deleted default leaves its kind without one until the
    merchant picks another: choosing for them could pick the wrong one."""
    if address.store_id != store.pk:
        raise ServiceError(_("That address does not exist."))
    customer = address.customer
    _customer_lock(store, customer)
    kind, text, was_default = address.kind, str(address), address.is_default
    address.delete()
    activity_record(
        store=store,
        customer=customer,
        actor=actor,
        verb="address.deleted",
        kind=kind,
        address=text,
        was_default=was_default,
    )
