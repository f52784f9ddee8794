"""Customer groups: the two defaults every store has (Guests, Standard), and the
merchant's own groups with their discounts."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.formats import number_format, sanitize_separators
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.jobs import JobContext, job_handler, job_start
from storefront_crm.models import Job, Store

from ..models import (
    AccountType,
    ActivityEvent,
    Customer,
    CustomerGroup,
    GroupKind,
)
from ..selectors import other_rows
from .store_setup import setup_name_clean, store_event_record, store_setup_lock

# How many members move per statement when a group is deleted: bounded memory, few queries.
GROUP_MOVE_BATCH = 2000


# Above these sizes a deletion runs as a job (still one transaction, in the worker): each
# changed customer row costs about 0.2 ms of index upkeep, so 100,000 take about 30 s,
# longer than a web request should.
GROUP_DELETE_INLINE_MAX = 5000


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


def _group_name_free(store: Store, name: str, *, except_pk: int | None = None) -> None:
    same_name = CustomerGroup.objects.filter(store=store, name__iexact=name)
    other = other_rows(same_name, except_pk).first()
    if other is not None:
        # The existing group's own spelling: "qa group" typed, "QA Group" is what exists.
        raise ServiceError(
            _("Another group of this store is already called “%(name)s”.") % {"name": other.name},
            field="name",
        )


def discount_clean(value: Any) -> Decimal:
    """A discount in percent: a Decimal from 0 to 100 with at most two decimal places."""
    not_a_number = ServiceError(
        _("Enter the discount as a number from 0 to 100."), field="discount_percent"
    )
    if value is None or isinstance(value, bool):
        raise not_a_number
    try:
        discount = Decimal(sanitize_separators(str(value).strip()))
    except InvalidOperation:
        raise not_a_number from None
    if not discount.is_finite():
        raise not_a_number
    if not Decimal("0") <= discount <= Decimal("100"):
        raise ServiceError(_("A discount must be between 0 and 100 %."), field="discount_percent")
    if discount != discount.quantize(Decimal("0.01")):
        raise ServiceError(
            _("A discount can have at most two decimal places."), field="discount_percent"
        )
    return discount.quantize(Decimal("0.01"))


def discount_normalised(value: Decimal | str | int) -> str:
    """A discount as plain text without trailing zeros ("12.5", "10"): how activity events
    store it, so a reader's language can format it (``discount_display``)."""
    discount = Decimal(str(value))
    if discount == discount.to_integral_value():
        discount = discount.quantize(Decimal("1"))  # normalize() would give "1E+1" for 10
    else:
        discount = discount.normalize()
    return format(discount, "f")


def discount_display(value: Decimal | str | int) -> str:
    """A discount for people, in the active language: "12.5" in English, "12,5" in German."""
    try:
        normalised = Decimal(discount_normalised(value))
    except (InvalidOperation, ValueError):
        return str(value)  # an event written by an older version: show it as it is
    return number_format(normalised, use_l10n=True)


@transaction.atomic
def group_create(
    *, store: Store, actor: Any, name: str, discount_percent: Any = Decimal("0")
) -> CustomerGroup:
    """A new custom group; its name is unique in the store whatever the letter case."""
    name = setup_name_clean(name, max_length=80, field="name")
    discount = discount_clean(discount_percent)
    store_setup_lock(store)
    _group_name_free(store, name)
    group = CustomerGroup.objects.create(
        store=store, name=name, kind=GroupKind.CUSTOM, discount_percent=discount
    )
    store_event_record(
        store=store,
        actor=actor,
        verb="group.created",
        group=name,
        discount_percent=discount_normalised(discount),
    )
    return group


@transaction.atomic
def group_rename(*, store: Store, actor: Any, group: CustomerGroup, name: str) -> CustomerGroup:
    """Rename a group (the defaults too: only their kind is fixed); names stay unique."""
    _group_of_store(store, group)
    name = setup_name_clean(name, max_length=80, field="name")
    if name == group.name:
        return group
    store_setup_lock(store)
    _group_name_free(store, name, except_pk=group.pk)
    old = group.name
    group.name = name
    group.save(update_fields=["name"])
    store_event_record(store=store, actor=actor, verb="group.renamed", group=[old, name])
    return group


@transaction.atomic
def group_discount_set(
    *, store: Store, actor: Any, group: CustomerGroup, discount_percent: Any
) -> CustomerGroup:
    """Set a group's discount: a Decimal percentage from 0 to 100."""
    _group_of_store(store, group)
    discount = discount_clean(discount_percent)
    if discount == group.discount_percent:
        return group
    old = group.discount_percent
    group.discount_percent = discount
    group.save(update_fields=["discount_percent"])
    store_event_record(
        store=store,
        actor=actor,
        verb="group.discount_set",
        group=group.name,
        discount_percent=[discount_normalised(old), discount_normalised(discount)],
    )
    return group


@transaction.atomic
def group_update(
    *, store: Store, actor: Any, group: CustomerGroup, name: str, discount_percent: Any
) -> CustomerGroup:
    """Rename and set the discount together: both change or neither does."""
    group_rename(store=store, actor=actor, group=group, name=name)
    return group_discount_set(
        store=store, actor=actor, group=group, discount_percent=discount_percent
    )


@transaction.atomic
def group_delete(*, store: Store, actor: Any, group: CustomerGroup) -> int:
    """Delete a custom group; its members move to Standard, each with a "group changed"
    event on their activity log. Guests and Standard cannot be deleted. Returns how many
    customers moved."""
    _group_of_store(store, group)
    if group.is_default:
        raise ServiceError(
            _("“%(name)s” is one of the store's two default groups and cannot be deleted.")
            % {"name": group.name}
        )
    store_setup_lock(store)
    standard = group_default(store, AccountType.REGISTERED)
    now = timezone.now()
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    moved, last_pk = 0, 0
    members = Customer.objects.filter(store=store, group=group).order_by("pk")
    while True:
        # Keyset batches on the (store, group, id) index: never rescans moved rows.
        ids = list(members.filter(pk__gt=last_pk).values_list("pk", flat=True)[:GROUP_MOVE_BATCH])
        if not ids:
            break
        last_pk = ids[-1]
        Customer.objects.filter(store=store, pk__in=ids).update(
            group=standard, updated_at=now, edit_version=F("edit_version") + 1
        )
        ActivityEvent.objects.bulk_create(
            [
                ActivityEvent(
                    store=store,
                    customer_id=customer_id,
                    actor_id=actor_id,
                    verb="customer.updated",
                    data={
                        "changes": {"group": [group.name, standard.name]},
                        "reason": "group.deleted",
                    },
                    created_at=now,
                )
                for customer_id in ids
            ]
        )
        moved += len(ids)
    name = group.name
    group.delete()
    store_event_record(
        store=store,
        actor=actor,
        verb="group.deleted",
        group=name,
        moved_to=standard.name,
        moved=moved,
    )
    return moved


def group_delete_request(*, store: Store, actor: Any, group: CustomerGroup) -> Job | None:
    """Delete a group now (``None``), or, when it has more than ``GROUP_DELETE_INLINE_MAX``
    members, start a ``customers.group_delete`` job that does it and return that job. The
    default groups are refused here, before any job starts."""
    _group_of_store(store, group)
    if group.is_default:
        group_delete(store=store, actor=actor, group=group)  # raises with the reason
    members = Customer.objects.filter(store=store, group=group)
    if members[: GROUP_DELETE_INLINE_MAX + 1].count() <= GROUP_DELETE_INLINE_MAX:
        group_delete(store=store, actor=actor, group=group)
        return None
    return job_start(
        store=store, kind="customers.group_delete", actor=actor, params={"group_id": group.pk}
    )


@job_handler("customers.group_delete", label=gettext_lazy("Group deletion"))
def group_delete_job_run(ctx: JobContext) -> str:
    # Safe to run twice: a group already gone has nothing left to do.
    group = CustomerGroup.objects.filter(store=ctx.store, pk=ctx.params["group_id"]).first()
    if group is None:
        return _("The group was already deleted.")
    name = group.name
    moved = group_delete(store=ctx.store, actor=ctx.job.created_by, group=group)
    ctx.progress(moved, moved, moved=moved)
    # The default group's current name: merchants rename it.
    standard = group_default(ctx.store, AccountType.REGISTERED)
    return ngettext(
        "Group “%(name)s” deleted; %(count)d customer moved to “%(standard)s”.",
        "Group “%(name)s” deleted; %(count)d customers moved to “%(standard)s”.",
        moved,
    ) % {"name": name, "count": moved, "standard": standard.name}


def _group_of_store(store: Store, group: CustomerGroup) -> None:
    if group.store_id != store.pk:
        raise ServiceError(_("That group does not exist."))
