"""A customer's saved addresses: add, edit, delete (the profile lists them). Thin views
over ``customers.services.addresses``; the same permission as editing the customer."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from storefront_crm.errors import ServiceError
from storefront_crm.tenancy import permission_required

from ..forms_addresses import AddressForm
from ..models import Address, Customer
from ..services.addresses import address_add, address_delete, address_edit
from ..services.customers import EditConflict
from .profile_display import address_lines, edit_conflict_rows


def _address_or_404(customer_id: int, address_id: int) -> Address:
    # Scoped to request.store: another store's address, or another customer's, is a 404.
    return get_object_or_404(
        Address.objects.select_related("customer"), pk=address_id, customer_id=customer_id
    )


def _to_addresses(store_slug: str, customer_id: int) -> HttpResponse:
    response = redirect("panel:customer", store_slug=store_slug, customer_id=customer_id)
    response["Location"] += "#addr-h"
    return response


def _address_form_page(
    request: HttpRequest, customer: Customer, address: Address | None
) -> HttpResponse:
    """A save over an address changed since the form opened shows the difference and a
    form that saves deliberately over it (as the customer's own edit form does)."""
    form = AddressForm(request.POST if request.method == "POST" else None, address=address)
    conflict_rows = None
    if request.method == "POST" and form.is_valid():
        store, actor = request.store, request.user
        try:
            if address is None:
                address_add(store=store, customer=customer, actor=actor, **form.values())
            else:
                address_edit(
                    store=store,
                    address=address,
                    actor=actor,
                    expected_fingerprint=form.cleaned_data.get("opened_as") or None,
                    **form.values(),
                )
        except EditConflict as error:
            conflict_rows = edit_conflict_rows(form, version_field="opened_as")
            if not conflict_rows:  # the entry is what is saved now: nothing to write
                messages.success(request, _("Address saved."))
                return _to_addresses(store.slug, customer.pk)
            messages.warning(request, error.message)
            data = request.POST.copy()
            data["opened_as"] = error.details["current_version"]
            form = AddressForm(data, address=address)
            form.is_valid()
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request, _("Address added.") if address is None else _("Address saved.")
            )
            return _to_addresses(store.slug, customer.pk)
    return render(
        request,
        "customers/addresses/form.html",
        {"form": form, "customer": customer, "address": address, "conflict_rows": conflict_rows},
        status=409 if conflict_rows else 400 if form.is_bound and form.errors else 200,
    )


@permission_required("customers.edit")
def address_new(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    return _address_form_page(request, customer, None)


@permission_required("customers.edit")
def address_change(
    request: HttpRequest, store_slug: str, customer_id: int, address_id: int
) -> HttpResponse:
    address = _address_or_404(customer_id, address_id)
    return _address_form_page(request, address.customer, address)


@permission_required("customers.edit")
def address_remove(
    request: HttpRequest, store_slug: str, customer_id: int, address_id: int
) -> HttpResponse:
    """GET asks first; POST deletes."""
    address = _address_or_404(customer_id, address_id)
    if request.method == "POST":
        address_delete(store=request.store, address=address, actor=request.user)
        messages.success(request, _("Address deleted."))
        return _to_addresses(store_slug, customer_id)
    return render(
        request,
        "customers/addresses/delete.html",
        {"address": address, "customer": address.customer, "lines": address_lines(address)},
    )


urlpatterns = [
    path("<int:customer_id>/addresses/new/", address_new, name="address_create"),
    path("<int:customer_id>/addresses/<int:address_id>/edit/", address_change, name="address_edit"),
    path(
        "<int:customer_id>/addresses/<int:address_id>/delete/",
        address_remove,
        name="address_delete",
    ),
]
