"""One customer's profile: details, orders, tags, notes, activity log, the actions on it
(create, edit, delete, block, activate, email confirmation, sign in as). How values and
activity events are shown: ``views.profile_display``; merging duplicates: ``views.merge``."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from storefront_crm.errors import ServiceError
from storefront_crm.tenancy import permission_required

from ..forms import (
    CUSTOM_FIELD_PREFIX,
    CustomerForm,
    NoteForm,
    TagAddForm,
)
from ..models import (
    ActivityEvent,
    Customer,
    CustomerNote,
    CustomerTag,
    CustomField,
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
from ..services.customers import (
    EditConflict,
    EmailTaken,
    customer_create,
    customer_delete,
    customer_update,
)
from ..services.notes import note_add, note_changeable_by, note_delete, note_edit
from ..services.tags import customer_tags_add, customer_tags_remove
from .profile_display import (
    address_lines,
    country_display,
    custom_field_display,
    edit_conflict_rows,
    event_sentence,
    order_address_lines,
)

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
    customer has links to that customer). A save over a newer version shows the
    difference and a form that saves deliberately over it."""
    taken_by = None
    conflict_rows = None
    if request.method == "POST" and form.is_valid():
        store, actor = request.store, request.user
        try:
            if customer is None:
                saved = customer_create(store=store, actor=actor, **form.values())
            else:
                saved = customer_update(
                    store=store,
                    customer=customer,
                    actor=actor,
                    expected_version=form.cleaned_data.get("edit_version"),
                    **form.values(),
                )
        except EditConflict as error:
            assert customer is not None
            conflict_rows = edit_conflict_rows(form, version_field="edit_version")
            if not conflict_rows:  # the entry is what is saved now: nothing to write
                messages.success(request, _("Customer saved."))
                return profile_redirect(customer, store.slug)
            messages.warning(request, error.message)
            # The review's form carries the version it showed: saving it is deliberate.
            data = request.POST.copy()
            data["edit_version"] = str(error.details["current_version"])
            form = CustomerForm(
                data, store=store, customer=customer, custom_fields=form.custom_fields
            )
            form.is_valid()
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
    status = 409 if conflict_rows else 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "customers/profile/form.html",
        {"form": form, "customer": customer, "taken_by": taken_by, "conflict_rows": conflict_rows},
        status=status,
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
