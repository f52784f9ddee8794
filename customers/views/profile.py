"""One customer's profile: details, orders, tags, notes, activity log, the actions on it
(create, edit, delete, block, activate, email confirmation, sign in as). Merging
duplicates: ``views.merge``."""

import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from storefront_crm.errors import ServiceError
from storefront_crm.formatting import date_format
from storefront_crm.tenancy import permission_required

from ..country_names import country_name
from ..forms import (
    CUSTOM_FIELD_PREFIX,
    CustomerForm,
    NoteForm,
    TagAddForm,
)
from ..models import (
    ADDRESS_PARTS,
    ActivityEvent,
    Address,
    AddressKind,
    Customer,
    CustomerNote,
    CustomerTag,
    CustomField,
    CustomFieldType,
)
from ..selectors import customer_notes
from ..selectors_profile import cursor_of, history_page
from ..services.accounts import (
    customer_active_set,
    customer_block_set,
    customer_email_confirm,
    customer_impersonation_start,
    email_confirmation_send,
    impersonation_refusal,
)
from ..services.customers import EmailTaken, customer_create, customer_delete, customer_update
from ..services.notes import note_add, note_changeable_by, note_delete, note_edit
from ..services.tags import customer_tags_add, customer_tags_remove

PROFILE_ORDERS = 25  # the rest is one click away: the customer's order history
PROFILE_EVENTS = 50
HISTORY_ORDERS = 50  # rows per page of the order history and of the activity log
HISTORY_EVENTS = 100


class CustomerGone(Http404):
    """No profile with this id in the store. Still a plain 404 where nothing renders it;
    ``merge.CustomerGoneMiddleware`` says, when the store's activity knows, that the
    profile was merged into another or deleted."""

    def __init__(self, customer_id: int) -> None:
        super().__init__(_("No customer with this number."))
        self.customer_id = customer_id


def customer_or_404(customer_id: int) -> Customer:
    # The scoped manager limits the lookup to request.store: a foreign id is a 404.
    customer = Customer.objects.select_related("group").filter(pk=customer_id).first()
    if customer is None:
        raise CustomerGone(customer_id)
    return customer


def profile_redirect(customer: Customer | int, store_slug: str) -> HttpResponse:
    customer_id = customer if isinstance(customer, int) else customer.pk
    return redirect("panel:customer", store_slug=store_slug, customer_id=customer_id)


# --- Reading the profile ------------------------------------------------------------------


def custom_field_display(field: CustomField, value: Any, language: str) -> str:
    """A stored custom-field value as people read it."""
    if value in (None, ""):
        return ""
    if field.field_type == CustomFieldType.BOOLEAN:
        return _("Yes") if value is True else _("No") if value is False else str(value)
    if field.field_type == CustomFieldType.DATE:
        try:
            return date_format(datetime.date.fromisoformat(str(value)), language)
        except ValueError:
            return str(value)
    if field.field_type == CustomFieldType.NUMBER:
        from django.utils import formats, translation

        with translation.override(language):
            return formats.number_format(Decimal(str(value)), use_l10n=True)
    return str(value)


def country_display(code: str) -> str:
    """ "Germany (DE)"; a code without a known name (saved before codes were checked) as
    it is."""
    if not code:
        return ""
    name = country_name(code)
    return f"{name} ({code.upper()})" if name else code


def _yes_no(value: str) -> str:
    """A stored "True"/"False" as the profile shows booleans, in the reader's language."""
    return {"True": _("Yes"), "False": _("No")}.get(value, value)


def _stored_text(value: Any) -> str:
    if value is None:
        return ""
    return _yes_no(str(value)) if isinstance(value, bool) else str(value)


def _custom_field_changes(
    changes: dict[str, list[Any]], fields: dict[str, CustomField], language: str
) -> list[str]:
    """One part per changed custom field: its label, old and new value as the profile
    shows them."""
    parts = []
    ordered = sorted(changes, key=lambda key: (key not in fields, key))  # removed fields last
    for key in ordered:
        old, new = changes[key]
        field = fields.get(key)
        if field is not None:
            label = field.label
            old, new = (custom_field_display(field, value, language) for value in (old, new))
        else:  # a field removed since: its key and the values as stored
            label = key
            old, new = (_stored_text(value) for value in (old, new))
        if not old:
            sentence = _("set %(field)s to “%(new)s”")
        elif not new:
            sentence = _("cleared %(field)s (was “%(old)s”)")
        else:
            sentence = _("changed %(field)s from “%(old)s” to “%(new)s”")
        parts.append(sentence % {"field": label, "old": old, "new": new})
    return parts


_FIELD_ORDER = {field.name: index for index, field in enumerate(Customer._meta.fields)}


def _field_label(name: str) -> str:
    try:
        return str(Customer._meta.get_field(name).verbose_name)
    except Exception:
        return name


_BOOLEAN_FIELDS = {
    field.name for field in Customer._meta.fields if field.get_internal_type() == "BooleanField"
}


def _address_sentence(verb: str, data: dict[str, Any]) -> str:
    shipping = data.get("kind") == AddressKind.SHIPPING
    address = data.get("address") or "—"
    if verb == "address.added":
        sentence = (
            _("Added a shipping address: %(address)s")
            if shipping
            else _("Added a billing address: %(address)s")
        )
        return sentence % {"address": address}
    if verb == "address.deleted":
        sentence = (
            _("Deleted a shipping address: %(address)s")
            if shipping
            else _("Deleted a billing address: %(address)s")
        )
        return sentence % {"address": address}
    parts = []
    changes = data.get("changes") or {}
    # in the form's order: PostgreSQL's jsonb does not keep the order keys were written in
    order = {name: index for index, name in enumerate(("kind", "is_default", *ADDRESS_PARTS))}
    for name, (old, new) in sorted(changes.items(), key=lambda item: order.get(item[0], 99)):
        if name == "is_default":
            parts.append(_("made it the default") if new == "True" else _("unset it as default"))
        elif name == "kind":
            parts.append(
                _("changed %(field)s from “%(old)s” to “%(new)s”")
                % {"field": _("kind"), "old": _kind_label(old), "new": _kind_label(new)}
            )
        else:
            try:
                label = str(Address._meta.get_field(name).verbose_name)
            except Exception:
                label = name
            parts.append(
                _("changed %(field)s from “%(old)s” to “%(new)s”")
                % {"field": label, "old": old, "new": new}
            )
    sentence = (
        _("Edited a shipping address: %(changes)s")
        if shipping
        else _("Edited a billing address: %(changes)s")
    )
    return sentence % {"changes": "; ".join(parts) or address}


def _kind_label(kind: str) -> str:
    try:
        return str(AddressKind(kind).label)
    except ValueError:
        return kind


def event_sentence(
    event: ActivityEvent,
    *,
    fields: dict[str, CustomField] | None = None,
    language: str | None = None,
) -> str:
    """One line of the activity log as a translated sentence. ``fields``: the store's
    custom fields by key (read here when a sentence needs them), ``language``: the one the
    profile formats dates and numbers in (the store's)."""
    data = event.data or {}
    verb = event.verb
    if verb == "customer.created":
        source = data.get("source", "")
        return {
            "order": _("Profile created from an order"),
            "import": _("Profile created by an import"),
            "signup": _("Profile created when the customer signed up"),
        }.get(source, _("Profile created"))
    if verb == "customer.updated":
        parts = []
        # in the model's field order: PostgreSQL's jsonb does not keep the order keys were
        # written in
        changes = data.get("changes") or {}
        for name in sorted(changes, key=lambda name: _FIELD_ORDER.get(name, len(_FIELD_ORDER))):
            old, new = changes[name] if isinstance(changes[name], list) else ("", "")
            if name == "accepts_marketing":
                parts.append(
                    _("gave marketing consent")
                    if new == "True"
                    else _("withdrew marketing consent")
                )
            elif name == "group":
                parts.append(_("moved to group “%(new)s”") % {"new": new})
            elif name == "custom_fields":
                if isinstance(changes[name], dict):  # per field since the QA fixes
                    if fields is None:
                        fields = {
                            field.key: field
                            for field in CustomField.objects.filter(store_id=event.store_id)
                        }
                    parts.extend(
                        _custom_field_changes(
                            changes[name], fields, language or translation.get_language()
                        )
                    )
                else:  # logged before: the whole dict as text, not worth showing
                    parts.append(_("changed custom fields"))
            else:
                if name in _BOOLEAN_FIELDS:
                    old, new = _yes_no(old), _yes_no(new)
                parts.append(
                    _("changed %(field)s from “%(old)s” to “%(new)s”")
                    % {"field": _field_label(name), "old": old, "new": new}
                )
        sentence = (
            (_("Edited: %(changes)s") % {"changes": "; ".join(parts)}) if parts else _("Edited")
        )
        if data.get("reason") == "group.deleted":
            sentence += " " + _("(its group was deleted)")
        elif data.get("bulk"):
            sentence += " " + _("(bulk edit)")
        return sentence
    if verb.startswith("address."):
        return _address_sentence(verb, data)
    simple = {
        "tags.added": _("Tags added: %(tags)s"),
        "tags.removed": _("Tags removed: %(tags)s"),
    }
    if verb in simple:
        return simple[verb] % {"tags": ", ".join(data.get("tags") or [])}
    if verb == "customer.merged":
        duplicate = data.get("duplicate") or {}
        moved = int(data.get("orders_moved") or 0)
        return ngettext(
            "Merged with the duplicate profile %(email)s (%(orders)d order moved)",
            "Merged with the duplicate profile %(email)s (%(orders)d orders moved)",
            moved,
        ) % {"email": duplicate.get("email", "?"), "orders": moved}
    if verb == "order.placed":
        return _("Placed order #%(order)s") % {"order": data.get("order", "?")}
    if verb == "order.updated":
        return _("Order #%(order)s changed") % {"order": data.get("order", "?")}
    if verb == "email.confirmed":
        return (
            _("Confirmed the email address with the emailed link")
            if data.get("via_link")
            else _("Marked the email address as confirmed")
        )
    sentences = {
        "note.added": _("Added an internal note"),
        "note.edited": _("Edited an internal note"),
        "note.deleted": _("Deleted an internal note"),
        "account.blocked": _("Blocked the account"),
        "account.unblocked": _("Unblocked the account"),
        "account.activated": _("Activated the account"),
        "account.deactivated": _("Deactivated the account"),
        "email.confirmation_sent": _("Sent an email-confirmation link"),
        "customer.impersonated": _("Signed in to the storefront as this customer"),
        "account.login_email_changed": _(
            "The storefront login moved to %(email)s; sign-in links sent before no longer work"
        ),
        "customer.imported": _("Updated by an import"),
        "customers.imported": _("Updated by an import"),
        "group.changed": _("Moved to group “%(group)s”"),
    }
    if verb in sentences:
        try:
            return sentences[verb] % data if "%(" in sentences[verb] else sentences[verb]
        except (KeyError, TypeError, ValueError):
            return sentences[verb]
    return verb  # a verb recorded by a newer part of the app: still shown, untranslated


@permission_required("customers.view")
def customer_detail(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    # Orders live in the orders app; customers must not import it at module level.
    from orders.selectors import customer_last_counted_order, customer_orders

    store = request.store
    customer = customer_or_404(customer_id)
    orders = list(customer_orders(store=store, customer=customer)[: PROFILE_ORDERS + 1])
    last_order = customer_last_counted_order(store=store, customer=customer)
    fields = list(CustomField.objects.filter(store=store))
    fields_by_key = {field.key: field for field in fields}
    tags = list(customer.tags.all())
    role = request.membership.role
    values = customer.custom_fields or {}
    # One row more than shown says whether there are older ones, in the same query.
    events = list(
        ActivityEvent.objects.filter(store=store, customer=customer).select_related("actor")[
            : PROFILE_EVENTS + 1
        ]
    )
    shown_orders, shown_events = orders[:PROFILE_ORDERS], events[:PROFILE_EVENTS]
    return render(
        request,
        "customers/profile/detail.html",
        {
            "customer": customer,
            "country": country_display(customer.country),
            # what the account actions can do for this profile (the services refuse the rest)
            "has_account": customer.is_registered,
            "can_impersonate": impersonation_refusal(customer) is None,
            "tags": tags,
            # the autocomplete offers the tags the customer does not have yet
            "store_tags": list(
                CustomerTag.objects.filter(store=store)
                .exclude(pk__in=[tag.pk for tag in tags])
                .values_list("name", flat=True)
            ),
            "orders": shown_orders,
            # the history pages continue right after the last row shown here
            "older_orders": (
                cursor_of(shown_orders[-1], "placed_at") if len(orders) > PROFILE_ORDERS else None
            ),
            "last_order": last_order,
            "last_order_shipping": order_address_lines(
                last_order.shipping_address if last_order else None
            ),
            "last_order_billing": order_address_lines(
                last_order.billing_address if last_order else None
            ),
            "notes": [
                (note, note_changeable_by(store=store, note=note, actor=request.user, role=role))
                for note in customer_notes(store=store, customer=customer)
            ],
            "addresses": [
                (address, address_lines(address)) for address in customer.addresses.all()
            ],
            "custom_values": [
                (field.label, custom_field_display(field, values.get(field.key), store.language))
                for field in fields
                if values.get(field.key) not in (None, "")
            ],
            "events": [
                (event, event_sentence(event, fields=fields_by_key, language=store.language))
                for event in shown_events
            ],
            "older_events": (
                cursor_of(shown_events[-1], "created_at") if len(events) > PROFILE_EVENTS else None
            ),
            "note_form": NoteForm(),
            "tag_form": TagAddForm(),
        },
    )


def address_lines(address: Address) -> list[str]:
    """The address's lines with the country's name instead of its bare code."""
    lines = address.lines()
    if address.country and lines and lines[-1] == address.country:
        lines[-1] = country_display(address.country)
    return lines


def order_address_lines(data: dict[str, Any] | None) -> list[str]:
    """An order's address (a JSON copy taken when it was placed) laid out as a saved
    address is: postcode and city on one line, the country by name."""
    parts = {key: str(value) for key, value in (data or {}).items() if key in ADDRESS_PARTS}
    address = Address(**parts)
    return address_lines(address) + ([address.phone] if address.phone else [])


@permission_required("customers.view")
def customer_order_history(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    """Every order of the customer, newest first, page by page."""
    from orders.selectors import customer_orders

    customer = customer_or_404(customer_id)
    page = history_page(
        customer_orders(store=request.store, customer=customer),
        time_field="placed_at",
        size=HISTORY_ORDERS,
        before=request.GET.get("before"),
        after=request.GET.get("after"),
    )
    return render(
        request,
        "customers/profile/orders.html",
        {"customer": customer, "orders": page.rows, "page": page},
    )


@permission_required("customers.view")
def customer_activity(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    """The customer's whole activity log, newest first, page by page."""
    customer = customer_or_404(customer_id)
    store = request.store
    fields = {field.key: field for field in CustomField.objects.filter(store=store)}
    page = history_page(
        ActivityEvent.objects.filter(store=request.store, customer=customer).select_related(
            "actor"
        ),
        time_field="created_at",
        size=HISTORY_EVENTS,
        before=request.GET.get("before"),
        after=request.GET.get("after"),
    )
    return render(
        request,
        "customers/profile/activity.html",
        {
            "customer": customer,
            "events": [
                (event, event_sentence(event, fields=fields, language=store.language))
                for event in page.rows
            ],
            "page": page,
        },
    )


# --- Create, edit, delete ------------------------------------------------------------------


def _form_field_of(form: CustomerForm, field: str | None) -> str | None:
    """The form field a service error belongs to; custom-field errors name the key."""
    for name in (field, f"{CUSTOM_FIELD_PREFIX}{field}"):
        if name in form.fields:
            return name
    return None


def _customer_form_page(
    request: HttpRequest, form: CustomerForm, customer: Customer | None
) -> HttpResponse:
    """Bind, call the service, turn its errors into field errors (an email another
    customer has links to that customer)."""
    taken_by = None
    if request.method == "POST" and form.is_valid():
        store, actor = request.store, request.user
        try:
            if customer is None:
                saved = customer_create(store=store, actor=actor, **form.values())
            else:
                saved = customer_update(
                    store=store, customer=customer, actor=actor, **form.values()
                )
        except EmailTaken as error:
            form.add_error("email", error.message)
            taken_by = error.details.get("customer")
        except ServiceError as error:
            form.add_error(_form_field_of(form, error.field), error.message)
        else:
            messages.success(
                request, _("Customer added.") if customer is None else _("Customer saved.")
            )
            return profile_redirect(saved, store.slug)
    return render(
        request,
        "customers/profile/form.html",
        {"form": form, "customer": customer, "taken_by": taken_by},
        status=400 if form.is_bound and form.errors else 200,
    )


@permission_required("customers.edit")
def customer_new(request: HttpRequest, store_slug: str) -> HttpResponse:
    form = CustomerForm(
        request.POST if request.method == "POST" else None,
        store=request.store,
        custom_fields=list(CustomField.objects.filter(store=request.store)),
    )
    return _customer_form_page(request, form, None)


@permission_required("customers.edit")
def customer_edit(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    customer = customer_or_404(customer_id)
    form = CustomerForm(
        request.POST if request.method == "POST" else None,
        store=request.store,
        customer=customer,
        custom_fields=list(CustomField.objects.filter(store=request.store)),
    )
    return _customer_form_page(request, form, customer)


@permission_required("customers.delete")
def customer_remove(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    customer = customer_or_404(customer_id)
    if request.method == "POST":
        detached = customer_delete(store=request.store, customer=customer, actor=request.user)
        messages.success(
            request,
            ngettext(
                "Customer %(email)s deleted; %(count)d order kept without a profile.",
                "Customer %(email)s deleted; %(count)d orders kept without a profile.",
                detached,
            )
            % {"email": customer.email, "count": detached},
        )
        return redirect("panel:customers", store_slug=store_slug)
    return render(
        request,
        "customers/profile/delete.html",
        {"customer": customer, "orders_total": customer.orders.count()},
    )


# --- Account actions --------------------------------------------------------------------


def _account_action(
    request: HttpRequest, customer_id: int, action: Any, done: str, **kwargs: Any
) -> HttpResponse:
    customer = customer_or_404(customer_id)
    try:
        action(store=request.store, customer=customer, actor=request.user, **kwargs)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return profile_redirect(customer, request.store.slug)


@require_POST
@permission_required("customers.edit")
def customer_block(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    blocked = request.POST.get("blocked") == "1"
    done = _("Account blocked.") if blocked else _("Account unblocked.")
    return _account_action(request, customer_id, customer_block_set, done, blocked=blocked)


@require_POST
@permission_required("customers.edit")
def customer_activate(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    active = request.POST.get("active") == "1"
    done = _("Account activated.") if active else _("Account deactivated.")
    return _account_action(request, customer_id, customer_active_set, done, active=active)


@require_POST
@permission_required("customers.edit")
def customer_email_confirmed(
    request: HttpRequest, store_slug: str, customer_id: int
) -> HttpResponse:
    done = _("Email address marked as confirmed.")
    return _account_action(request, customer_id, customer_email_confirm, done)


@require_POST
@permission_required("customers.edit")
def customer_email_resend(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    done = _("A confirmation email is on its way.")
    return _account_action(
        request,
        customer_id,
        email_confirmation_send,
        done,
        base_url=request.build_absolute_uri("/"),
    )


@require_POST
@permission_required("customers.impersonate")
def customer_impersonate(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    customer = customer_or_404(customer_id)
    try:
        url = customer_impersonation_start(
            store=request.store, customer=customer, actor=request.user
        )
    except ServiceError as error:
        # The sign-in form opens a new tab: a refusal is told there on its own, not as a
        # second copy of the back office.
        return render(
            request,
            "customers/profile/impersonation_refused.html",
            {"message": error.message},
            status=409,
        )
    return redirect(url)


# --- Notes and tags ------------------------------------------------------------------------


@require_POST
@permission_required("customers.notes")
def note_create(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    customer = customer_or_404(customer_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        note_add(
            store=request.store,
            customer=customer,
            actor=request.user,
            body=form.cleaned_data["body"],
        )
        messages.success(request, _("Note added."))
    else:
        messages.error(request, _("A note cannot be empty."))
    return profile_redirect(customer, store_slug)


@require_POST
@permission_required("customers.notes")
def note_update(
    request: HttpRequest, store_slug: str, customer_id: int, note_id: int
) -> HttpResponse:
    note = get_object_or_404(
        CustomerNote.objects.select_related("customer"), pk=note_id, customer_id=customer_id
    )
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A note cannot be empty."))
        return profile_redirect(customer_id, store_slug)
    try:
        note_edit(
            store=request.store, note=note, actor=request.user, body=form.cleaned_data["body"]
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Note saved."))
    return profile_redirect(customer_id, store_slug)


@require_POST
@permission_required("customers.notes")
def note_remove(
    request: HttpRequest, store_slug: str, customer_id: int, note_id: int
) -> HttpResponse:
    note = get_object_or_404(
        CustomerNote.objects.select_related("customer"), pk=note_id, customer_id=customer_id
    )
    try:
        note_delete(store=request.store, note=note, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Note deleted."))
    return profile_redirect(customer_id, store_slug)


@require_POST
@permission_required("customers.tags")
def tag_add(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    customer = customer_or_404(customer_id)
    form = TagAddForm(request.POST)
    if form.is_valid():
        try:
            customer_tags_add(
                store=request.store,
                customer=customer,
                actor=request.user,
                names=form.cleaned_data["tags"],
            )
        except ServiceError as error:
            messages.error(request, error.message)
    return profile_redirect(customer, store_slug)


@require_POST
@permission_required("customers.tags")
def tag_remove(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    customer = customer_or_404(customer_id)
    customer_tags_remove(
        store=request.store,
        customer=customer,
        actor=request.user,
        names=[request.POST.get("tag", "")],
    )
    return profile_redirect(customer, store_slug)


urlpatterns = [
    path("new/", customer_new, name="customer_create"),
    path("<int:customer_id>/", customer_detail, name="customer"),
    path("<int:customer_id>/orders/", customer_order_history, name="customer_orders"),
    path("<int:customer_id>/activity/", customer_activity, name="customer_activity"),
    path("<int:customer_id>/edit/", customer_edit, name="customer_edit"),
    path("<int:customer_id>/delete/", customer_remove, name="customer_delete"),
    path("<int:customer_id>/block/", customer_block, name="customer_block"),
    path("<int:customer_id>/activate/", customer_activate, name="customer_activate"),
    path(
        "<int:customer_id>/email/confirm/", customer_email_confirmed, name="customer_email_confirm"
    ),
    path("<int:customer_id>/email/resend/", customer_email_resend, name="customer_email_resend"),
    path("<int:customer_id>/sign-in-as/", customer_impersonate, name="customer_impersonate"),
    path("<int:customer_id>/notes/", note_create, name="note_create"),
    path("<int:customer_id>/notes/<int:note_id>/edit/", note_update, name="note_edit"),
    path("<int:customer_id>/notes/<int:note_id>/delete/", note_remove, name="note_delete"),
    path("<int:customer_id>/tags/add/", tag_add, name="tag_add"),
    path("<int:customer_id>/tags/remove/", tag_remove, name="tag_remove"),
]
