"""Writes on customers: each validates, writes in one transaction and logs an activity."""

import datetime
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.models import Membership, Role, Store

from ..io.countries import COUNTRY_CODES
from ..models import (
    AccountType,
    ActivityEvent,
    Customer,
    CustomerGroup,
    CustomerNote,
    CustomerSource,
    CustomerTag,
    CustomField,
    GroupKind,
    TaggedCustomer,
)


class TagLimitExceeded(ServiceError):
    code = "tag_limit"


class EmailTaken(ServiceError):
    code = "email_taken"


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


def activity_record(
    *,
    store: Store,
    customer: Customer | None,
    actor: Any,
    verb: str,
    at: datetime.datetime | None = None,
    **data: Any,
) -> ActivityEvent:
    """Log what happened; ``at`` for an event that happened before it is recorded (an
    order placed in the past, entered now)."""
    return ActivityEvent.objects.create(
        store=store,
        customer=customer,
        verb=verb,
        data=data,
        actor=actor if getattr(actor, "pk", None) else None,
        created_at=at or timezone.now(),
    )


# --- Groups ---------------------------------------------------------------------------


def group_defaults_create(store: Store) -> None:
    """Every store starts with the groups Guests and Standard."""
    # Named in the store's language: the names are the merchant's data from then on.
    with translation.override(store.language or settings.LANGUAGE_CODE):
        names = ((GroupKind.GUESTS, _("Guests")), (GroupKind.STANDARD, _("Standard")))
        for kind, name in names:
            CustomerGroup.objects.get_or_create(store=store, kind=kind, defaults={"name": name})


def group_default(store: Store, account_type: str) -> CustomerGroup:
    """Registered customers fall into Standard, guests into Guests."""
    kind = GroupKind.STANDARD if account_type == AccountType.REGISTERED else GroupKind.GUESTS
    group = CustomerGroup.objects.filter(store=store, kind=kind).first()
    if group is None:
        group_defaults_create(store)
        group = CustomerGroup.objects.get(store=store, kind=kind)
    return group


# --- Tags -----------------------------------------------------------------------------


def tag_names_clean(names: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively), order kept."""
    seen: dict[str, str] = {}
    for name in names:
        name = " ".join((name or "").split())[:100]
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return list(seen.values())


@transaction.atomic
def tags_ensure(*, store: Store, names: Iterable[str]) -> list[CustomerTag]:
    """The store's tags for ``names``, creating missing ones within the per-store limit."""
    names = tag_names_clean(names)
    if not names:
        return []
    # One writer of a store's tags at a time, so two requests cannot pass the limit together.
    Store.objects.select_for_update().filter(pk=store.pk).first()
    # At most a few hundred rows: the limit keeps this read small.
    existing = {tag.name.lower(): tag for tag in CustomerTag.objects.filter(store=store)}
    missing = [name for name in names if name.lower() not in existing]
    if missing:
        limit = settings.STOREFRONT_MAX_TAGS_PER_STORE
        count = len(existing)
        if count + len(missing) > limit:
            raise TagLimitExceeded(
                ngettext(
                    "A store can have at most %(limit)d tags; it has %(count)d, and "
                    "%(new)d more would pass the limit (%(names)s).",
                    "A store can have at most %(limit)d tags; it has %(count)d, and "
                    "%(new)d more would pass the limit (%(names)s).",
                    len(missing),
                )
                % {
                    "limit": limit,
                    "count": count,
                    "new": len(missing),
                    "names": ", ".join(missing[:5]),
                },
                field="tags",
            )
        for name in missing:
            existing[name.lower()] = _tag_create(store, name)
    return [existing[name.lower()] for name in names]


def _tag_create(store: Store, name: str) -> CustomerTag:
    base = slugify(name, allow_unicode=True)[:90] or "tag"
    slug, suffix = base, 1
    while CustomerTag.objects.filter(store=store, slug=slug).exists():
        suffix += 1
        slug = f"{base}-{suffix}"
    return CustomerTag.objects.create(store=store, name=name, slug=slug)


@transaction.atomic
def customer_tags_add(
    *, store: Store, customer: Customer, names: Iterable[str], actor: Any = None
) -> list[CustomerTag]:
    tags = tags_ensure(store=store, names=names)
    have = set(
        TaggedCustomer.objects.filter(store=store, content_object=customer).values_list(
            "tag_id", flat=True
        )
    )
    new = [tag for tag in tags if tag.pk not in have]
    TaggedCustomer.objects.bulk_create(
        [TaggedCustomer(store=store, content_object=customer, tag=tag) for tag in new]
    )
    if new:
        activity_record(
            store=store,
            customer=customer,
            actor=actor,
            verb="tags.added",
            tags=[tag.name for tag in new],
        )
    return new


@transaction.atomic
def customer_tags_remove(
    *, store: Store, customer: Customer, names: Iterable[str], actor: Any = None
) -> int:
    lowered = {name.lower() for name in tag_names_clean(names)}
    links = [
        link
        for link in TaggedCustomer.objects.select_related("tag").filter(
            store=store, content_object=customer
        )
        if link.tag.name.lower() in lowered
    ]
    TaggedCustomer.objects.filter(pk__in=[link.pk for link in links]).delete()
    if links:
        activity_record(
            store=store,
            customer=customer,
            actor=actor,
            verb="tags.removed",
            tags=[link.tag.name for link in links],
        )
    return len(links)


# --- Customers ------------------------------------------------------------------------

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


def _email_free(store: Store, email: str, *, except_pk: int | None = None) -> None:
    others = Customer.objects.filter(store=store, email=email)
    if except_pk is not None:
        others = others.exclude(pk=except_pk)
    other = others.first()
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
    _email_free(store, email)
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
    *, store: Store, customer: Customer, actor: Any = None, **changes: Any
) -> Customer:
    """Change fields of a customer; email stays unique, consent changes are timestamped."""
    changed: dict[str, Any] = {}
    old_email = customer.email
    if "email" in changes:
        email = email_validate(changes.pop("email"))
        if email != customer.email:
            _email_free(store, email, except_pk=customer.pk)
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
        customer.save()
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


# --- Custom field values ----------------------------------------------------------------


def custom_field_values_clean(*, store: Store, values: dict[str, Any]) -> dict[str, Any]:
    """Validate the values of the store's custom fields by type (``setup.
    custom_field_value_clean``: errors name the field's key); empty values are dropped.
    Keys without a field (a field that was removed) are kept as they are, so re-adding
    the field brings its values back."""
    from .setup import custom_field_value_clean  # setup imports this module

    fields = {field.key: field for field in CustomField.objects.filter(store=store)}
    cleaned: dict[str, Any] = {}
    for key, value in (values or {}).items():
        field = fields.get(key)
        clean = custom_field_value_clean(field, value) if field is not None else value
        if clean is not None:
            cleaned[key] = clean
    return cleaned


# --- Notes ----------------------------------------------------------------------------


@transaction.atomic
def note_add(*, store: Store, customer: Customer, actor: Any, body: str) -> CustomerNote:
    body = body.strip()
    if not body:
        raise ServiceError(_("A note cannot be empty."), field="body")
    note = CustomerNote.objects.create(store=store, customer=customer, author=actor, body=body)
    activity_record(store=store, customer=customer, actor=actor, verb="note.added", note_id=note.pk)
    return note


# Besides its author, who may edit or delete a note: the roles that run the store.
NOTE_MODERATOR_ROLES = {Role.OWNER, Role.MANAGER}


def note_changeable_by(
    *, store: Store, note: CustomerNote, actor: Any, role: str | None = None
) -> bool:
    """Whether ``actor`` may edit or delete the note: its author, or an owner or manager
    (a note keeps showing its author, so others must not put words in their mouth).
    ``role``: the actor's role in the store when the caller knows it (saves a query)."""
    actor_pk = getattr(actor, "pk", None)
    if actor_pk is None:
        return False
    if note.author_id is not None and note.author_id == actor_pk:
        return True
    if role is None:
        role = (
            Membership.objects.filter(store=store, user_id=actor_pk)
            .values_list("role", flat=True)
            .first()
        )
    return role in NOTE_MODERATOR_ROLES


def _note_change_check(store: Store, note: CustomerNote, actor: Any) -> None:
    if note.store_id != store.pk:
        raise ServiceError(_("That note does not exist."))
    if not note_changeable_by(store=store, note=note, actor=actor):
        raise ServiceError(
            _("Only the note's author, an owner or a manager can edit or delete this note.")
        )


@transaction.atomic
def note_edit(*, store: Store, note: CustomerNote, actor: Any, body: str) -> CustomerNote:
    _note_change_check(store, note, actor)
    body = body.strip()
    if not body:
        raise ServiceError(_("A note cannot be empty."), field="body")
    note.body = body
    note.edited_at = timezone.now()
    note.save(update_fields=["body", "edited_at"])
    activity_record(
        store=store, customer=note.customer, actor=actor, verb="note.edited", note_id=note.pk
    )
    return note


@transaction.atomic
def note_delete(*, store: Store, note: CustomerNote, actor: Any) -> None:
    _note_change_check(store, note, actor)
    customer = note.customer
    note_id = note.pk
    note.delete()
    activity_record(
        store=store, customer=customer, actor=actor, verb="note.deleted", note_id=note_id
    )
