"""Writes on customer profiles: create, edit, delete; each validates, writes in one
transaction and logs an activity."""

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from storefront_crm.errors import ServiceError
from storefront_crm.models import Store

from ..countries import COUNTRY_CODES
from ..models import (
    AccountType,
    Customer,
    CustomerGroup,
    CustomerSource,
)
from ..selectors import other_rows
from .activity import activity_record
from .custom_fields import custom_field_values_clean
from .groups import group_default
from .tags import customer_tags_add


class EmailTaken(ServiceError):
    code = "email_taken"


class EditConflict(ServiceError):
    """Someone saved the profile after the form was opened; ``current_version`` is the
    version to send back once the member has reviewed the difference."""

    code = "edit_conflict"


def email_normalize(email: str) -> str:
    return (email or "").strip().lower()


def email_validate(email: str, *, field: str = "email") -> str:
    email = email_normalize(email)
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(
            _("“%(email)s” is not a valid email address.") % {"email": email}, field=field
        ) from None
    return email


CUSTOMER_FIELDS = {
    "first_name",
    "last_name",
    "phone",
    "country",
    "company",
    "customer_since",
    "source",
    "account_type",
    "is_active",
    "is_blocked",
    "email_confirmed",
    "tax_exempt",
    "vat_id",
    "custom_fields",
}


# A "customer since" this far ahead of the server's clock is still accepted: clock skew
# between the browser, the app servers and the database.
CUSTOMER_SINCE_SKEW = datetime.timedelta(minutes=5)


def country_clean(code: str | None, *, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code in capitals, or "" for none; anything else is refused."""
    code = (code or "").strip().upper()
    if code and code not in COUNTRY_CODES:
        raise ServiceError(
            _("“%(code)s” is not a country code. Use two letters such as DE or AT.")
            % {"code": code},
            field=field,
        )
    return code


def customer_since_clean(value: datetime.datetime | None) -> datetime.datetime:
    """Required, and not in the future: nobody became a customer tomorrow."""
    if value is None:
        raise ServiceError(_("This field is required."), field="customer_since")
    if value > timezone.now() + CUSTOMER_SINCE_SKEW:
        raise ServiceError(_("“Customer since” cannot be in the future."), field="customer_since")
    return value


def _customer_fields_clean(store: Store, fields: dict[str, Any]) -> None:
    """Validate, in place, the fields a create or an update sets."""
    if "country" in fields:
        fields["country"] = country_clean(fields["country"])
    if "customer_since" in fields:
        fields["customer_since"] = customer_since_clean(fields["customer_since"])
    if "custom_fields" in fields:
        fields["custom_fields"] = custom_field_values_clean(
            store=store, values=fields["custom_fields"]
        )


def custom_fields_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Per custom field key, [old, new] of the values that changed (None: no value), as
    stored: the activity log shows each one by its field's label and type."""
    return {
        key: [old.get(key), new.get(key)]
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key) or type(old.get(key)) is not type(new.get(key))
    }


def email_free_check(store: Store, email: str, *, except_pk: int | None = None) -> None:
    """Refuse an email that another customer of the store has (``EmailTaken`` names it)."""
    other = other_rows(Customer.objects.filter(store=store, email=email), except_pk).first()
    if other is not None:
        raise EmailTaken(
            _("Another customer of this store already has the email “%(email)s”.")
            % {"email": email},
            field="email",
            customer=other,
        )


@transaction.atomic
def customer_create(
    *,
    store: Store,
    actor: Any = None,
    email: str,
    group: CustomerGroup | None = None,
    tags: Iterable[str] = (),
    accepts_marketing: bool = False,
    **fields: Any,
) -> Customer:
    """Create a customer; the email (any letter case) must be new to the store."""
    unknown = set(fields) - CUSTOMER_FIELDS
    if unknown:
        raise TypeError(f"Unknown customer fields: {sorted(unknown)}")
    email = email_validate(email)
    email_free_check(store, email)
    if fields.get("customer_since") is None:
        fields.pop("customer_since", None)  # none given: the model's default, now
    _customer_fields_clean(store, fields)
    account_type = fields.get("account_type", AccountType.GUEST)
    if group is not None and group.store_id != store.pk:
        raise ServiceError(_("That group does not exist."), field="group")
    now = timezone.now()
    customer = Customer.objects.create(
        store=store,
        email=email,
        group=group or group_default(store, account_type),
        accepts_marketing=accepts_marketing,
        marketing_consent_at=now if accepts_marketing else None,
        **fields,
    )
    activity_record(
        store=store, customer=customer, actor=actor, verb="customer.created", source=customer.source
    )
    if tags:
        customer_tags_add(store=store, customer=customer, names=tags, actor=actor)
    return customer


@transaction.atomic
def customer_update(
    *,
    store: Store,
    customer: Customer,
    actor: Any = None,
    expected_version: int | None = None,
    **changes: Any,
) -> Customer:
    """Change fields of a customer; email stays unique, consent changes are timestamped.

    ``expected_version`` is the ``edit_version`` the edit form was opened at: when the
    profile has been edited since, nothing is written and ``EditConflict`` is raised (the
    last save must not silently win). Every write moves the version on."""
    if customer.store_id != store.pk:
        raise ServiceError(_("That customer does not exist."))
    # The row lock orders concurrent saves: the second one sees the first one's version.
    current_version = (
        Customer.objects.select_for_update()
        .values_list("edit_version", flat=True)
        .get(pk=customer.pk)
    )
    if expected_version is not None and expected_version != current_version:
        raise EditConflict(
            _(
                "Someone else changed this customer after you opened the form. Your changes "
                "are not saved yet: compare them with the values saved now, then save again "
                "to keep yours."
            ),
            current_version=current_version,
        )
    changed: dict[str, Any] = {}
    old_email = customer.email
    if "email" in changes:
        email = email_validate(changes.pop("email"))
        if email != customer.email:
            email_free_check(store, email, except_pk=customer.pk)
            changed["email"] = [customer.email, email]
            customer.email = email
            if customer.email_confirmed and "email_confirmed" not in changes:
                # A new address is unconfirmed until its owner follows a new link.
                changed["email_confirmed"] = ["True", "False"]
                customer.email_confirmed = False
    if "group" in changes:
        group = changes.pop("group")
        if group is None:  # as on creation: the default group of the account type
            group = group_default(store, changes.get("account_type", customer.account_type))
        if group.store_id != store.pk:
            raise ServiceError(_("That group does not exist."), field="group")
        if group.pk != customer.group_id:
            changed["group"] = [str(customer.group), str(group)]
            customer.group = group
    if "accepts_marketing" in changes:
        accepts = bool(changes.pop("accepts_marketing"))
        if accepts != customer.accepts_marketing:
            changed["accepts_marketing"] = [str(customer.accepts_marketing), str(accepts)]
            customer.accepts_marketing = accepts
            customer.marketing_consent_at = timezone.now()
    unknown = set(changes) - CUSTOMER_FIELDS
    if unknown:
        raise TypeError(f"Unknown customer fields: {sorted(unknown)}")
    _customer_fields_clean(store, changes)
    for name, value in changes.items():
        old = getattr(customer, name)
        if name == "custom_fields":
            # each field with its own old and new value, not the whole dict as text
            diff = custom_fields_diff(old or {}, value)
            if diff:
                changed[name] = diff
                customer.custom_fields = value
        elif old != value:
            changed[name] = [str(old), str(value)]
            setattr(customer, name, value)
    if changed:
        # Only the fields this edit changed: order aggregates written meanwhile stay.
        fields = set(changed) | {"edit_version", "updated_at"}
        if "accepts_marketing" in changed:
            fields.add("marketing_consent_at")
        customer.edit_version = F("edit_version") + 1
        customer.save(update_fields=sorted(fields))
        customer.refresh_from_db(fields=["edit_version"])
        activity_record(
            store=store, customer=customer, actor=actor, verb="customer.updated", changes=changed
        )
    if "email" in changed:
        from .accounts import shopper_login_email_follow  # accounts imports this module

        shopper_login_email_follow(store=store, customer=customer, old_email=old_email, actor=actor)
    return customer


@transaction.atomic
def customer_delete(*, store: Store, customer: Customer, actor: Any = None) -> int:
    """Delete a profile. Its orders are kept, detached from the profile (they keep their
    email); notes, addresses, tags and the activity log go with it. Returns how many orders
    were detached."""
    if customer.store_id != store.pk:
        raise ServiceError(_("That customer does not exist."))
    orders_count = customer.orders.count()
    shopper = customer.user
    email, customer_id = customer.email, customer.pk
    customer.delete()  # Order.customer is SET_NULL: the orders stay
    if shopper is not None and shopper.store_id == store.pk:
        shopper.delete()  # the login belonged to this profile only
    activity_record(
        store=store,
        customer=None,
        actor=actor,
        verb="customer.deleted",
        email=email,
        customer_id=customer_id,
        orders_detached=orders_count,
    )
    return orders_count


@transaction.atomic
def customer_get_or_create_for_order(
    *, store: Store, email: str, defaults: dict[str, Any] | None = None
) -> Customer:
    """The profile for an order's email (any letter case), created with source "order"."""
    email = email_validate(email)
    customer = Customer.objects.select_for_update().filter(store=store, email=email).first()
    if customer is not None:
        return customer
    fields = {key: value for key, value in (defaults or {}).items() if key in CUSTOMER_FIELDS}
    if (fields.get("country") or "").strip().upper() not in COUNTRY_CODES:
        fields.pop("country", None)  # an order is never refused for its country's spelling
    fields["source"] = CustomerSource.ORDER
    return customer_create(store=store, email=email, **fields)
