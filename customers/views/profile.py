from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from storefront_crm.errors import ServiceError
from storefront_crm.tenancy import permission_required

from ..forms import NoteForm, TagAddForm
from ..models import Customer, CustomerNote
from ..selectors import customer_notes
from ..services import customer_tags_add, customer_tags_remove, note_add, note_delete


@permission_required("customers.view")
def customer_detail(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    from orders.selectors import customer_orders

    customer = get_object_or_404(Customer.objects.select_related("group"), pk=customer_id)
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "orders": customer_orders(store=request.store, customer=customer)[:20],
            "notes": customer_notes(store=request.store, customer=customer),
            "addresses": customer.addresses.all(),
            "note_form": NoteForm(),
            "tag_form": TagAddForm(),
        },
    )


@require_POST
@permission_required("customers.notes")
def note_create(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
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
    return redirect("panel:customer", store_slug=store_slug, customer_id=customer.pk)


@require_POST
@permission_required("customers.notes")
def note_remove(
    request: HttpRequest, store_slug: str, customer_id: int, note_id: int
) -> HttpResponse:
    note = get_object_or_404(CustomerNote, pk=note_id, customer_id=customer_id)
    note_delete(store=request.store, note=note, actor=request.user)
    messages.success(request, _("Note deleted."))
    return redirect("panel:customer", store_slug=store_slug, customer_id=customer_id)


@require_POST
@permission_required("customers.tags")
def tag_add(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
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
    return redirect("panel:customer", store_slug=store_slug, customer_id=customer.pk)


@require_POST
@permission_required("customers.tags")
def tag_remove(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    customer_tags_remove(
        store=request.store,
        customer=customer,
        actor=request.user,
        names=[request.POST.get("tag", "")],
    )
    return redirect("panel:customer", store_slug=store_slug, customer_id=customer.pk)


urlpatterns = [
    path("<int:customer_id>/", customer_detail, name="customer"),
    path("<int:customer_id>/notes/", note_create, name="note_create"),
    path("<int:customer_id>/notes/<int:note_id>/delete/", note_remove, name="note_delete"),
    path("<int:customer_id>/tags/add/", tag_add, name="tag_add"),
    path("<int:customer_id>/tags/remove/", tag_remove, name="tag_remove"),
]
