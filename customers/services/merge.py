"""Merging duplicate customer profiles, and finding the likely duplicates.

``customer_merge`` moves everything of the duplicate onto the survivor in one transaction
and deletes the duplicate; every rule is checked before the first write, and any error
later rolls the whole merge back, leaving both profiles as they were.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Concat, Lower, Replace, StrIndex, Substr
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.jobs import JobContext, job_handler
from storefront_crm.models import Job, JobStatus, Store, User
from storefront_crm.request_input import id_param

from ..models import (
    AccountType,
    ActivityEvent,
    Address,
    Customer,
    CustomerGroup,
    CustomerNote,
    CustomField,
    GroupKind,
    TaggedCustomer,
)
from .activity import activity_record
from .customers import email_free_check, email_validate
from .groups import group_default

SURVIVOR = "survivor"
DUPLICATE = "duplicate"
# The store-level event of a profile merged away, next to "customer.deleted": both carry
# the removed profile's ``customer_id`` (see ``customer_removed_event``).
MERGED_AWAY = "customer.merged_away"
REMOVED_VERBS = ("customer.deleted", MERGED_AWAY)

# The fields a merchant chooses between, in the order the merge page shows them.
MERGE_FIELDS: dict[str, Any] = {
    "email": gettext_lazy("Email"),
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "phone": gettext_lazy("Phone"),
    "country": gettext_lazy("Country"),
    "company": gettext_lazy("Company"),
    "vat_id": gettext_lazy("VAT ID"),
    "tax_exempt": gettext_lazy("Tax exempt"),
    "group": gettext_lazy("Group"),
    "is_active": gettext_lazy("Account active"),
    "is_blocked": gettext_lazy("Blocked"),
}
CUSTOM_FIELD_PREFIX = "cf:"


class MergeRefused(ServiceError):
    code = "merge_refused"


def _vat_normalize(vat_id: str) -> str:
    return "".join(vat_id.split()).upper()


def merge_choice_needed(survivor: Customer, duplicate: Customer) -> list[str]:
    """Fields the merchant must decide explicitly: two different non-empty VAT IDs."""
    a, b = _vat_normalize(survivor.vat_id), _vat_normalize(duplicate.vat_id)
    return ["vat_id"] if a and b and a != b else []


def _shopper_login(store: Store, customer: Customer) -> User | None:
    if customer.user_id is not None:
        return customer.user
    return User.objects.filter(username=User.login_name(customer.email, store.pk)).first()


def _shopper_logins(store: Store, survivor: Customer, duplicate: Customer) -> dict[int, User]:
    """The distinct storefront logins of the two profiles (at most one may survive)."""
    return {
        login.pk: login
        for login in (_shopper_login(store, survivor), _shopper_login(store, duplicate))
        if login is not None
    }


def _identity_refusal(store: Store, survivor: Customer, duplicate: Customer) -> MergeRefused | None:
    if survivor.store_id != store.pk or duplicate.store_id != store.pk:
        return MergeRefused(_("Only two profiles of the same store can be merged."))
    if survivor.pk == duplicate.pk:
        return MergeRefused(_("A profile cannot be merged with itself."))
    return None


def merge_refusals(
    *,
    store: Store,
    survivor: Customer,
    duplicate: Customer,
    choices: dict[str, str] | None = None,
) -> list[MergeRefused]:
    """Every rule the merge of ``duplicate`` into ``survivor`` breaks, in the order the merge
    checks them; empty when it may go ahead.

    The one place the rules live: ``customer_merge`` raises the first of these, and the
    merge page shows them before the merchant clicks Merge. With ``choices=None`` (nothing
    chosen yet) the rules a choice can satisfy are left out, so what remains refuses the
    merge whatever is chosen.
    """
    identity = _identity_refusal(store, survivor, duplicate)
    if identity is not None:
        return [identity]  # the other rules mean nothing for these two
    refusals: list[MergeRefused] = []
    if choices is not None:
        for field in merge_choice_needed(survivor, duplicate):
            if choices.get(field) not in (SURVIVOR, DUPLICATE):
                refusals.append(
                    MergeRefused(
                        _(
                            "The two profiles have different VAT IDs (%(a)s, %(b)s): "
                            "choose one to keep."
                        )
                        % {"a": survivor.vat_id, "b": duplicate.vat_id},
                        field=field,
                    )
                )
    if len(_shopper_logins(store, survivor, duplicate)) > 1:
        refusals.append(
            MergeRefused(
                _(
                    "Both profiles have a storefront login; merging would leave one shopper "
                    "unable to sign in. Ask the shopper which account to keep and delete "
                    "the other."
                )
            )
        )
    # No tag rule: the merge only links tags the store already has, so it cannot pass the
    # store's tag limit.
    return refusals


def _pick(choices: dict[str, str], key: str, survivor_value: Any, duplicate_value: Any) -> Any:
    """The chosen side; without a choice the survivor's value, or the duplicate's when the
    survivor has none."""
    choice = choices.get(key)
    if choice == DUPLICATE:
        return duplicate_value
    if choice == SURVIVOR:
        return survivor_value
    return survivor_value if survivor_value not in ("", None) else duplicate_value


@transaction.atomic
def customer_merge(
    *,
    store: Store,
    actor: Any,
    survivor: Customer,
    duplicate: Customer,
    choices: dict[str, str] | None = None,
) -> Customer:
    """Merge ``duplicate`` into ``survivor`` and delete the duplicate.

    ``choices`` maps a field name (see ``MERGE_FIELDS``, custom fields as ``cf:<key>``) to
    ``"survivor"`` or ``"duplicate"``. Orders, notes, tags (de-duplicated), addresses (one
    default per kind stays), events and the storefront login move over; the newest
    marketing-consent decision wins; the earlier "customer since" is kept; aggregates are
    recomputed. The result is registered if either profile is, and then leaves the Guests
    group for Standard (a custom group stays). Refused, before anything changes, for what
    ``merge_refusals`` lists. The removed profile gets a store-level event (``MERGED_AWAY``)
    like a deleted one.
    """
    from orders.models import Order
    from orders.services import customer_stats_recompute

    choices = dict(choices or {})
    identity = _identity_refusal(store, survivor, duplicate)
    if identity is not None:
        raise identity
    # Lock both rows in id order (no deadlock with a merge the other way round) and work
    # on fresh copies, so the caller's instances are untouched if the merge fails.
    locked = {
        customer.pk: customer
        for customer in Customer.objects.select_for_update()
        .filter(store=store, pk__in=[survivor.pk, duplicate.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise MergeRefused(_("One of the profiles no longer exists."))
    keep, gone = locked[survivor.pk], locked[duplicate.pk]

    refusals = merge_refusals(store=store, survivor=keep, duplicate=gone, choices=choices)
    if refusals:
        raise refusals[0]
    logins = _shopper_logins(store, keep, gone)
    values = {
        name: _pick(choices, name, getattr(keep, name), getattr(gone, name))
        for name in MERGE_FIELDS
        if name != "group"
    }
    values["email"] = email_validate(values["email"])
    group: CustomerGroup = gone.group if choices.get("group") == DUPLICATE else keep.group
    registered = AccountType.REGISTERED in (keep.account_type, gone.account_type)
    if registered and group.kind == GroupKind.GUESTS:
        # Guests is the default group of guests; a custom group is the merchant's choice.
        group = group_default(store, AccountType.REGISTERED)
    custom_fields = _custom_fields_merged(store, keep, gone, choices)

    # -- Every rule passed: from here on, writes. --
    moved_orders = Order.objects.filter(store=store, customer=gone).update(customer=keep)
    CustomerNote.objects.filter(store=store, customer=gone).update(customer=keep)
    have_tags = TaggedCustomer.objects.filter(store=store, content_object=keep).values("tag_id")
    TaggedCustomer.objects.filter(store=store, content_object=gone).exclude(
        tag_id__in=have_tags
    ).update(content_object=keep)
    default_kinds = set(
        Address.objects.filter(store=store, customer=keep, is_default=True).values_list(
            "kind", flat=True
        )
    )
    Address.objects.filter(
        store=store, customer=gone, is_default=True, kind__in=default_kinds
    ).update(is_default=False)
    Address.objects.filter(store=store, customer=gone).update(customer=keep)
    ActivityEvent.objects.filter(store=store, customer=gone).update(customer=keep)
    customer_stats_recompute(store=store, customer_ids=[keep.pk])

    keep.refresh_from_db(fields=["orders_count", "total_spent", "first_order_at", "last_order_at"])
    newest_consent = max(
        (keep, gone),
        key=lambda c: (c.marketing_consent_at is not None, c.marketing_consent_at or 0),
    )
    merged_email_confirmed = (
        gone.email_confirmed if values["email"] == gone.email else keep.email_confirmed
    )
    login = next(iter(logins.values()), None)
    gone_summary = {"id": gone.pk, "email": gone.email, "name": gone.full_name}
    gone.delete()

    email_free_check(store, values["email"], except_pk=keep.pk)
    for name, value in values.items():
        setattr(keep, name, value)
    keep.group = group
    keep.custom_fields = custom_fields
    keep.customer_since = min(keep.customer_since, gone.customer_since)
    keep.accepts_marketing = newest_consent.accepts_marketing
    keep.marketing_consent_at = newest_consent.marketing_consent_at
    keep.email_confirmed = merged_email_confirmed
    if registered:
        keep.account_type = AccountType.REGISTERED
    keep.user = login
    keep.edit_version = F("edit_version") + 1  # an open edit form of it must review
    keep.save()
    keep.refresh_from_db(fields=["edit_version"])
    if login is not None and login.email != keep.email:
        login.email = keep.email  # the login name follows the surviving email
        login.save()
    activity_record(
        store=store,
        customer=keep,
        actor=actor,
        verb="customer.merged",
        duplicate=gone_summary,
        orders_moved=moved_orders,
        chosen={key: value for key, value in choices.items() if value == DUPLICATE},
    )
    # The store's activity lists removed profiles (it shows store-level events only), and
    # a link to the removed profile finds where it went (``customer_removed_event``).
    activity_record(
        store=store,
        customer=None,
        actor=actor,
        verb=MERGED_AWAY,
        email=gone_summary["email"],
        customer_id=gone_summary["id"],
        name=gone_summary["name"],
        merged_into={"id": keep.pk, "email": keep.email, "name": keep.full_name},
        orders_moved=moved_orders,
    )
    return keep


def customer_removed_event(*, store: Store, customer_id: int) -> ActivityEvent | None:
    """The store-level event that removed the profile ``customer_id`` (merged into another
    or deleted), newest first; None for an id the store never had."""
    return (
        ActivityEvent.objects.filter(
            store=store, customer=None, verb__in=REMOVED_VERBS, data__customer_id=customer_id
        )
        .select_related("actor")
        .order_by("-created_at", "-id")
        .first()
    )


def merge_partner_find(*, store: Store, customer: Customer, reference: str) -> Customer:
    """The profile to merge with ``customer``, named by its email (any letter case) or id."""
    reference = reference.strip()
    lookup = Q(email=reference.lower())
    if (pk := id_param(reference)) is not None:
        lookup |= Q(pk=pk)
    # An email and an id can name two profiles: one of them may be the customer itself.
    found = list(Customer.objects.filter(lookup, store=store)[:2])
    others = [other for other in found if other.pk != customer.pk]
    if others:
        return others[0]
    if found:
        raise MergeRefused(_("A profile cannot be merged with itself."))
    raise MergeRefused(_("No other customer of this store has that email or number."))


def _custom_fields_merged(
    store: Store, keep: Customer, gone: Customer, choices: dict[str, str]
) -> dict[str, Any]:
    merged = dict(gone.custom_fields or {})
    merged.update(keep.custom_fields or {})
    for key in merged:
        merged[key] = _pick(
            choices,
            CUSTOM_FIELD_PREFIX + key,
            (keep.custom_fields or {}).get(key),
            (gone.custom_fields or {}).get(key),
        )
    return {key: value for key, value in merged.items() if value not in ("", None)}


# --- Possible duplicates (reads) ----------------------------------------------------------


@dataclass
class DuplicateGroup:
    reason: str
    key: str
    customers: list[Customer]


def _email_key() -> Any:
    """The email with dots and a ``+tag`` removed from the local part (lower-case already):
    ``Jane.Doe+shop@x.org`` and ``janedoe@x.org`` share it. Portable SQL (SQLite and
    PostgreSQL), no regular expressions."""
    at = StrIndex(F("email"), Value("@"))
    # Append "+" so that a local part without a tag cuts at its end.
    local_plus = Concat(Substr(F("email"), 1, at - 1), Value("+"))
    local_without_tag = Substr(local_plus, 1, StrIndex(local_plus, Value("+")) - 1)
    return Concat(Replace(local_without_tag, Value("."), Value("")), Substr(F("email"), at))


def _phone_key() -> Any:
    """The phone with the usual separators removed."""
    phone: Any = F("phone")
    for separator in (" ", "-", "(", ")", "/", ".", "\u00a0"):
        phone = Replace(phone, Value(separator), Value(""))
    return phone


def duplicate_groups_find(*, store: Store, limit: int = 50) -> list[DuplicateGroup]:
    """Groups of profiles that are probably the same person: emails that differ only in
    dots or a ``+tag`` of the local part; same name and phone; same phone. Each query
    groups the store's customers once (a full pass over the store's rows)."""
    customers = Customer.objects.filter(store=store)
    found: list[DuplicateGroup] = []
    seen_pairs: set[frozenset[int]] = set()
    rules: list[tuple[str, QuerySet, Q]] = [
        (
            _("Same email apart from dots or a +tag"),
            customers.annotate(dup_key=_email_key()),
            Q(),
        ),
        (
            _("Same name and phone"),
            customers.annotate(
                dup_key=Concat(
                    Lower("first_name"), Value("|"), Lower("last_name"), Value("|"), _phone_key()
                )
            ),
            ~Q(phone="") & (~Q(first_name="") | ~Q(last_name="")),
        ),
        (_("Same phone"), customers.annotate(dup_key=_phone_key()), ~Q(phone="")),
    ]
    for reason, annotated, condition in rules:
        keys = list(
            annotated.filter(condition)
            .values("dup_key")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .order_by("-n", "dup_key")
            .values_list("dup_key", flat=True)[:limit]
        )
        if not keys:
            continue
        members: dict[str, list[Customer]] = {key: [] for key in keys}
        for customer in (
            annotated.filter(condition, dup_key__in=keys)
            .select_related("group")
            .order_by("customer_since", "id")
        ):
            members[customer.dup_key].append(customer)
        for key, group in members.items():
            pair = frozenset(customer.pk for customer in group)
            if len(group) < 2 or pair in seen_pairs:
                continue  # already listed under a stronger reason
            seen_pairs.add(pair)
            found.append(DuplicateGroup(reason=str(reason), key=key, customers=group))
    return found[:limit]


# Above this many customers the search (a full pass over the store per rule, seconds on a
# million rows) runs as a job, and the page shows the latest result.
DUPLICATES_INLINE_LIMIT = 20_000
DUPLICATES_JOB = "customers.duplicates"


@job_handler(DUPLICATES_JOB, label=gettext_lazy("Duplicate search"))
def duplicates_job_run(ctx: JobContext) -> str:
    groups = duplicate_groups_find(store=ctx.store)
    found = [{"reason": g.reason, "ids": [c.pk for c in g.customers]} for g in groups]
    ctx.save_result("duplicates.json", ContentFile(json.dumps(found).encode()))
    ctx.progress(1, 1, groups=len(found))
    return ngettext(
        "%(count)d group of possible duplicates found.",
        "%(count)d groups of possible duplicates found.",
        len(found),
    ) % {"count": len(found)}


def duplicate_groups_latest(*, store: Store) -> tuple[Job | None, list[DuplicateGroup]]:
    """The newest duplicate search of the store and, once it has finished, its groups
    (profiles deleted or merged since then drop out)."""
    job = Job.objects.filter(store=store, kind=DUPLICATES_JOB).order_by("-created_at").first()
    if job is None or job.status != JobStatus.SUCCEEDED or not job.result_file:
        return job, []
    with job.result_file.open("rb") as stored:
        found = json.load(stored)
    ids = {pk for group in found for pk in group["ids"]}
    customers = {
        c.pk: c for c in Customer.objects.filter(store=store, pk__in=ids).select_related("group")
    }
    groups = []
    for group in found:
        members = [customers[pk] for pk in group["ids"] if pk in customers]
        if len(members) > 1:
            groups.append(DuplicateGroup(reason=group["reason"], key="", customers=members))
    return job, groups


def _display(value: Any) -> str:
    if value is True:
        return str(_("Yes"))
    if value is False:
        return str(_("No"))
    return "—" if value in (None, "") else str(value)


def merge_rows(survivor: Customer, duplicate: Customer, store: Store) -> list[dict[str, Any]]:
    """The side-by-side rows of the merge page: every field with both values, and whether
    they differ (only differing fields need a choice). Custom fields follow in the store's
    order (``custom_field`` is the field, for its display), values of removed fields last.
    ``note`` says what the merge does beyond the choice."""
    needed = merge_choice_needed(survivor, duplicate)
    registered = AccountType.REGISTERED in (survivor.account_type, duplicate.account_type)
    rows: list[dict[str, Any]] = []
    for name, label in MERGE_FIELDS.items():
        a, b = getattr(survivor, name), getattr(duplicate, name)
        note = ""
        if name in needed:
            note = _("Two different VAT IDs: choose the one to keep.")
        elif name == "group" and registered and GroupKind.GUESTS in (a.kind, b.kind):
            note = _(
                "The merged profile is registered: if the group kept is “%(guests)s”, it "
                "moves to the default group of registered customers."
            ) % {"guests": a.name if a.kind == GroupKind.GUESTS else b.name}
        rows.append(
            {
                "key": name,
                "label": label,
                "survivor": a,
                "duplicate": b,
                "survivor_display": _display(a),
                "duplicate_display": _display(b),
                "differs": (a.pk if name == "group" else a) != (b.pk if name == "group" else b),
                "required": name in needed,
                "note": note,
                "custom_field": None,
            }
        )
    a_values, b_values = survivor.custom_fields or {}, duplicate.custom_fields or {}
    present = set(a_values) | set(b_values)
    fields = [field for field in CustomField.objects.filter(store=store) if field.key in present]
    known = {field.key for field in fields}
    ordered: list[tuple[str, CustomField | None]] = [(field.key, field) for field in fields]
    ordered += [(key, None) for key in sorted(present - known)]
    for key, field in ordered:
        a, b = a_values.get(key), b_values.get(key)
        rows.append(
            {
                "key": CUSTOM_FIELD_PREFIX + key,
                "label": field.label if field is not None else key,
                "survivor": a,
                "duplicate": b,
                "survivor_display": _display(a),
                "duplicate_display": _display(b),
                "differs": a != b,
                "required": False,
                "note": "",
                "custom_field": field,
            }
        )
    return rows


def merge_account_rows(
    store: Store, survivor: Customer, duplicate: Customer
) -> list[dict[str, Any]]:
    """The account rows of the merge page: no choice, the merge decides (``result``)."""
    registered = AccountType.REGISTERED in (survivor.account_type, duplicate.account_type)
    account = AccountType.REGISTERED if registered else AccountType.GUEST
    kept_login, other_login = _shopper_login(store, survivor), _shopper_login(store, duplicate)
    if kept_login is not None and other_login is not None and kept_login.pk != other_login.pk:
        login_result = _("Both have one: cannot merge")
    elif other_login is not None and kept_login is None:
        login_result = _("Moves to the kept profile")
    else:
        login_result = _display(kept_login is not None)
    if survivor.email_confirmed == duplicate.email_confirmed:
        confirmed_result = _display(survivor.email_confirmed)
    else:
        confirmed_result = _("Goes with the email kept")
    return [
        {
            "label": _("Account"),
            "survivor_display": survivor.get_account_type_display(),
            "duplicate_display": duplicate.get_account_type_display(),
            "result": AccountType(account).label,
        },
        {
            "label": _("Email confirmed"),
            "survivor_display": _display(survivor.email_confirmed),
            "duplicate_display": _display(duplicate.email_confirmed),
            "result": confirmed_result,
        },
        {
            "label": _("Storefront login"),
            "survivor_display": _display(kept_login is not None),
            "duplicate_display": _display(other_login is not None),
            "result": login_result,
        },
    ]
