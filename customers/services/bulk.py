"""Bulk actions of the customer list, on a selection or on everything a filter matches.

Each action works on chunks of customer ids with set-based SQL (one insert, update or delete
per chunk, never a query per customer) and still writes one activity event per customer
it changed. Up to ``settings.STOREFRONT_BULK_SYNC_LIMIT`` customers run in the request;
more run as a ``customers.bulk`` job with progress. Export always runs as a
``customers.export`` job (the CSV export's handler).

Who may do what (``storefront_crm.tenancy.PERMISSIONS``): tags need ``customers.tags``
(support too); group, tax and marketing changes and confirmation emails ``customers.edit``;
export ``customers.export``; delete ``customers.delete``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.jobs import JobContext, job_handler, job_start
from storefront_crm.models import Job, Store

from ..conditions import Condition, conditions_to_json
from ..io.exporter import CSV_DIALECTS
from ..models import (
    AccountType,
    ActivityEvent,
    Customer,
    CustomerGroup,
    CustomerTag,
    TaggedCustomer,
)
from ..selectors import CustomerSelection, customer_selection, customers_for_job_params
from .accounts import email_confirmation_may_send, email_confirmations_deliver_after_commit
from .tags import tag_names_clean, tags_ensure

CHUNK_SIZE = 1000


@dataclass(frozen=True)
class BulkAction:
    permission: str
    label: Any


BULK_ACTIONS: dict[str, BulkAction] = {
    "tag_add": BulkAction("customers.tags", gettext_lazy("Add tag")),
    "tag_remove": BulkAction("customers.tags", gettext_lazy("Remove tag")),
    "group_set": BulkAction("customers.edit", gettext_lazy("Set group")),
    "tax_exempt_on": BulkAction("customers.edit", gettext_lazy("Mark tax exempt")),
    "tax_exempt_off": BulkAction("customers.edit", gettext_lazy("Mark not tax exempt")),
    "subscribe": BulkAction("customers.edit", gettext_lazy("Subscribe to marketing")),
    "unsubscribe": BulkAction("customers.edit", gettext_lazy("Unsubscribe from marketing")),
    "email_confirm_send": BulkAction("customers.edit", gettext_lazy("Send confirmation email")),
    "export": BulkAction("customers.export", gettext_lazy("Export selection")),
    "delete": BulkAction("customers.delete", gettext_lazy("Delete")),
}


@dataclass(frozen=True)
class BulkOutcome:
    """Either ``changed`` customers now, or a ``job`` that will do the work."""

    changed: int = 0
    job: Job | None = None


class SelectionChanged(ServiceError):
    """The customers matching now are not those the member reviewed and confirmed."""

    def __init__(self, *, expected: CustomerSelection, current: CustomerSelection) -> None:
        if current.count != expected.count:
            message = ngettext(
                "%(now)d customer matches now, not %(then)d: review again.",
                "%(now)d customers match now, not %(then)d: review again.",
                current.count,
            ) % {"now": current.count, "then": expected.count}
        else:
            message = _(
                "The customers that match changed since you reviewed them (still %(count)d,"
                " but not the same ones): review again."
            ) % {"count": current.count}
        super().__init__(message)
        self.current = current


def bulk_permission(action: str) -> str:
    try:
        return BULK_ACTIONS[action].permission
    except KeyError:
        raise ServiceError(_("Unknown bulk action."), field="action") from None


def _targets(conditions: list[Condition], customer_ids: list[int] | None) -> dict[str, Any]:
    return {
        "conditions": conditions_to_json(conditions),
        "customer_ids": None if customer_ids is None else [int(pk) for pk in customer_ids],
    }


def _action_value(
    *, store: Store, action: str, tag_names: list[str], group_id: int | None, base_url: str
) -> Any:
    """The action's argument as JSON (tag ids, a group id, a flag, the site's address for
    the links of emails), checked for this store."""
    if action == "tag_add":
        names = tag_names_clean(tag_names)
        if not names:
            raise ServiceError(_("Name the tag to add."), field="tag")
        return [tag.pk for tag in tags_ensure(store=store, names=names)]
    if action == "tag_remove":
        lowered = {name.lower() for name in tag_names_clean(tag_names)}
        if not lowered:
            raise ServiceError(_("Name the tag to remove."), field="tag")
        tags = [t for t in CustomerTag.objects.filter(store=store) if t.name.lower() in lowered]
        if not tags:
            raise ServiceError(_("This store has no such tag."), field="tag")
        return [tag.pk for tag in tags]
    if action == "group_set":
        group = CustomerGroup.objects.filter(store=store, pk=group_id or 0).first()
        if group is None:  # also another store's group: it does not exist here
            raise ServiceError(_("Choose a group of this store."), field="group")
        return group.pk
    if action == "email_confirm_send":
        if not base_url:
            raise TypeError("Sending confirmation emails needs the site's base_url.")
        return base_url
    return {
        "tax_exempt_on": True,
        "tax_exempt_off": False,
        "subscribe": True,
        "unsubscribe": False,
    }.get(action)


def bulk_action_start(
    *,
    store: Store,
    actor: Any,
    action: str,
    conditions: list[Condition],
    customer_ids: list[int] | None,
    tag_names: list[str] | tuple[str, ...] = (),
    group_id: int | None = None,
    base_url: str = "",
    dialect: str = "standard",
    expected: CustomerSelection | None = None,
) -> BulkOutcome:
    """Run ``action`` on ``customer_ids`` (or, when None, on every customer matching
    ``conditions``): now when few, as a job when more than the sync limit, export always as
    a job. ``base_url``: the site's address, for the links of confirmation emails;
    ``dialect``: the export's CSV dialect (a name of ``customers.io.exporter.CSV_DIALECTS``).
    ``expected``: the selection the member reviewed (``customer_selection``); when given,
    the action is refused with ``SelectionChanged`` unless exactly those customers match.
    The caller checks ``bulk_permission(action)`` for the acting member."""
    bulk_permission(action)
    targets = _targets(conditions, customer_ids)
    if expected is not None:
        current = customer_selection(customers_for_job_params(store, targets))
        if current != expected:
            raise SelectionChanged(expected=expected, current=current)
    if action == "export":
        if dialect not in CSV_DIALECTS:
            raise ServiceError(_("Choose the file's format."))
        params = {**targets, "dialect": dialect}
        try:
            job = job_start(store=store, kind="customers.export", actor=actor, params=params)
        except ValueError:
            raise ServiceError(_("The CSV export is not available yet.")) from None
        return BulkOutcome(job=job)
    customers = customers_for_job_params(store, targets)
    if action == "tag_add" and tag_names_clean(list(tag_names)) and not customers.exists():
        # Nothing to tag: the named tag is not created either.
        return BulkOutcome(changed=0)
    value = _action_value(
        store=store,
        action=action,
        tag_names=list(tag_names),
        group_id=group_id,
        base_url=base_url,
    )
    limit = settings.STOREFRONT_BULK_SYNC_LIMIT
    if customers.values("pk")[: limit + 1].count() > limit:
        params = {**targets, "action": action, "value": value}
        job = job_start(store=store, kind="customers.bulk", actor=actor, params=params)
        return BulkOutcome(job=job)
    changed = 0
    for chunk in _id_chunks(customers):
        changed += bulk_chunk_apply(
            store=store, actor=actor, action=action, value=value, customer_ids=chunk
        )
    return BulkOutcome(changed=changed)


def _id_chunks(customers: QuerySet[Customer]):
    """Ids in ascending chunks; each chunk is read after the previous one was changed."""
    last_id = 0
    while True:
        chunk = list(
            customers.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:CHUNK_SIZE]
        )
        if not chunk:
            return
        yield chunk
        last_id = chunk[-1]


@transaction.atomic
def bulk_chunk_apply(
    *, store: Store, actor: Any, action: str, value: Any, customer_ids: list[int]
) -> int:
    """Apply one action to one chunk of ids; returns how many customers it changed."""
    actor = actor if getattr(actor, "pk", None) else None
    customers = Customer.objects.filter(store=store, pk__in=customer_ids)
    if action == "tag_add":
        return _tags_add(store, actor, customers, value)
    if action == "tag_remove":
        return _tags_remove(store, actor, customers, value)
    if action == "group_set":
        return _group_set(store, actor, customers, value)
    if action in {"tax_exempt_on", "tax_exempt_off"}:
        return _flag_set(store, actor, customers, "tax_exempt", bool(value))
    if action in {"subscribe", "unsubscribe"}:
        return _flag_set(store, actor, customers, "accepts_marketing", bool(value))
    if action == "delete":
        return _delete(store, actor, customers)
    if action == "email_confirm_send":
        return _confirmations_send(store, actor, customers, base_url=value)
    raise ServiceError(_("Unknown bulk action."), field="action")


def _events(store: Store, actor: Any, verb: str, rows: list[tuple[int | None, dict]]) -> None:
    now = timezone.now()
    ActivityEvent.objects.bulk_create(
        ActivityEvent(
            store=store, customer_id=pk, actor=actor, verb=verb, data=data, created_at=now
        )
        for pk, data in rows
    )


def _tags_add(store: Store, actor: Any, customers: QuerySet[Customer], tag_ids: list[int]) -> int:
    tags = {tag.pk: tag.name for tag in CustomerTag.objects.filter(store=store, pk__in=tag_ids)}
    customer_ids = list(customers.values_list("pk", flat=True))
    have = set(
        TaggedCustomer.objects.filter(
            store=store, content_object_id__in=customer_ids, tag_id__in=tags
        ).values_list("content_object_id", "tag_id")
    )
    added: dict[int, list[str]] = {}
    links = []
    for customer_id in customer_ids:
        for tag_id, name in tags.items():
            if (customer_id, tag_id) not in have:
                links.append(
                    TaggedCustomer(store=store, content_object_id=customer_id, tag_id=tag_id)
                )
                added.setdefault(customer_id, []).append(name)
    TaggedCustomer.objects.bulk_create(links, ignore_conflicts=True)
    _events(store, actor, "tags.added", [(pk, {"tags": names}) for pk, names in added.items()])
    return len(added)


def _tags_remove(
    store: Store, actor: Any, customers: QuerySet[Customer], tag_ids: list[int]
) -> int:
    links = list(
        TaggedCustomer.objects.filter(
            store=store, content_object__in=customers.values("pk"), tag_id__in=tag_ids
        ).values_list("pk", "content_object_id", "tag__name")
    )
    TaggedCustomer.objects.filter(store=store, pk__in=[link[0] for link in links]).delete()
    removed: dict[int, list[str]] = {}
    for _pk, customer_id, name in links:
        removed.setdefault(customer_id, []).append(name)
    _events(store, actor, "tags.removed", [(pk, {"tags": names}) for pk, names in removed.items()])
    return len(removed)


def _group_set(store: Store, actor: Any, customers: QuerySet[Customer], group_id: int) -> int:
    group = CustomerGroup.objects.get(store=store, pk=group_id)
    changing = list(customers.exclude(group_id=group_id).values_list("pk", "group__name"))
    customers.filter(pk__in=[pk for pk, _name in changing]).update(
        group_id=group_id, updated_at=timezone.now(), edit_version=F("edit_version") + 1
    )
    _events(
        store,
        actor,
        "customer.updated",
        [(pk, {"changes": {"group": [old, group.name]}, "bulk": True}) for pk, old in changing],
    )
    return len(changing)


def _flag_set(
    store: Store, actor: Any, customers: QuerySet[Customer], field: str, value: bool
) -> int:
    now = timezone.now()
    changing = list(customers.exclude(**{field: value}).values_list("pk", flat=True))
    # an edit of a field the edit form shows: a form opened before it must review
    updates: dict[str, Any] = {
        field: value,
        "updated_at": now,
        "edit_version": F("edit_version") + 1,
    }
    if field == "accepts_marketing":
        updates["marketing_consent_at"] = now  # when consent was given or withdrawn
    customers.filter(pk__in=changing).update(**updates)
    change = {field: [str(not value), str(value)]}
    _events(
        store,
        actor,
        "customer.updated",
        [(pk, {"changes": change, "bulk": True}) for pk in changing],
    )
    return len(changing)


def _confirmations_send(
    store: Store, actor: Any, customers: QuerySet[Customer], *, base_url: str
) -> int:
    """Registered accounts with an unconfirmed email get the confirmation email, under the
    same once-a-minute rule as one sent from the profile; guests and confirmed ones are
    left out. Returns how many were sent."""
    unconfirmed = customers.filter(account_type=AccountType.REGISTERED, email_confirmed=False)
    sent = [
        pk
        for pk in unconfirmed.values_list("pk", flat=True)
        if email_confirmation_may_send(store.pk, pk)
    ]
    _events(store, actor, "email.confirmation_sent", [(pk, {"bulk": True}) for pk in sent])
    email_confirmations_deliver_after_commit(store.pk, sent, base_url)
    return len(sent)


def _delete(store: Store, actor: Any, customers: QuerySet[Customer]) -> int:
    """Customers go; their orders stay, detached (``Order.customer`` is SET_NULL)."""
    doomed = list(customers.values_list("pk", "email"))
    # The customer's own events go with it, so the record of the deletion has no customer.
    _events(
        store,
        actor,
        "customer.deleted",
        [(None, {"customer_id": pk, "email": email, "bulk": True}) for pk, email in doomed],
    )
    Customer.objects.filter(store=store, pk__in=[pk for pk, _email in doomed]).delete()
    return len(doomed)


@job_handler("customers.bulk", label=gettext_lazy("Bulk edit"))
def bulk_job_run(ctx: JobContext) -> str:
    """The job of a big bulk action; safe to run again (every action is idempotent)."""
    params = ctx.params
    action = params["action"]
    bulk_permission(action)
    customers = customers_for_job_params(ctx.store, params)
    total = customers.count()
    ctx.progress(0, total)
    done = changed = 0
    for chunk in _id_chunks(customers):
        changed += bulk_chunk_apply(
            store=ctx.store,
            actor=ctx.job.created_by,
            action=action,
            value=params.get("value"),
            customer_ids=chunk,
        )
        done += len(chunk)
        ctx.progress(done, max(total, done), changed=changed)
    return _("%(action)s: %(changed)d of %(total)d customers changed.") % {
        "action": BULK_ACTIONS[action].label,
        "changed": changed,
        "total": done,
    }
