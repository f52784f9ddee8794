"""Duplicate profiles: the possible-duplicates page, picking a profile to merge with, and
the side-by-side merge."""

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from storefront_crm.errors import ServiceError
from storefront_crm.jobs import job_start
from storefront_crm.tenancy import permission_required

from ..forms import MergeForm, MergePickForm
from ..models import Customer
from ..selectors import customer_count_hint
from ..services.merge import (
    DUPLICATES_INLINE_LIMIT,
    DUPLICATES_JOB,
    customer_merge,
    duplicate_groups_find,
    duplicate_groups_latest,
    merge_rows,
)
from .profile import customer_or_404, profile_redirect


@permission_required("customers.merge")
def customer_duplicates(request: HttpRequest, store_slug: str) -> HttpResponse:
    """Small stores are searched at once; big ones by a job whose latest result is shown."""
    store = request.store
    if customer_count_hint(Customer.objects.filter(store=store)).value <= DUPLICATES_INLINE_LIMIT:
        groups = duplicate_groups_find(store=store)
        return render(request, "customers/profile/duplicates.html", {"groups": groups})
    if request.method == "POST":
        job_start(store=store, kind=DUPLICATES_JOB, actor=request.user)
        return redirect("panel:customer_duplicates", store_slug=store_slug)
    job, groups = duplicate_groups_latest(store=store)
    return render(
        request,
        "customers/profile/duplicates.html",
        {"groups": groups, "search_job": job, "searched_by_job": True},
    )


@permission_required("customers.merge")
def customer_merge_pick(request: HttpRequest, store_slug: str, customer_id: int) -> HttpResponse:
    """Choose the profile to merge with this one, by its email or id."""
    customer = customer_or_404(customer_id)
    form = MergePickForm(request.GET or None)
    if form.is_valid():
        other_ref = form.cleaned_data["other"].strip()
        lookup = Q(email=other_ref.lower())
        if other_ref.isdigit():
            lookup |= Q(pk=int(other_ref))
        other = Customer.objects.filter(lookup).exclude(pk=customer.pk).first()
        if other is None:
            form.add_error("other", _("No other customer of this store has that email or number."))
        else:
            return redirect(
                "panel:customer_merge",
                store_slug=store_slug,
                survivor_id=customer.pk,
                duplicate_id=other.pk,
            )
    return render(
        request, "customers/profile/merge_pick.html", {"customer": customer, "form": form}
    )


@permission_required("customers.merge")
def customer_merge_view(
    request: HttpRequest, store_slug: str, survivor_id: int, duplicate_id: int
) -> HttpResponse:
    """Side by side: the merchant picks which value of each differing field to keep."""
    survivor = customer_or_404(survivor_id)
    duplicate = customer_or_404(duplicate_id)
    rows = merge_rows(survivor, duplicate, request.store)
    form = MergeForm(request.POST if request.method == "POST" else None, rows=rows)
    if request.method == "POST" and form.is_valid():
        try:
            merged = customer_merge(
                store=request.store,
                actor=request.user,
                survivor=survivor,
                duplicate=duplicate,
                choices=form.choices(),
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("%(email)s merged into this profile.") % {"email": duplicate.email},
            )
            return profile_redirect(merged, store_slug)
    return render(
        request,
        "customers/profile/merge.html",
        {
            "survivor": survivor,
            "duplicate": duplicate,
            "rows": [
                (row, form[MergeForm.field_name(row["key"])] if row["differs"] else None)
                for row in rows
            ],
            "form": form,
            "swap_url": reverse(
                "panel:customer_merge",
                kwargs={
                    "store_slug": store_slug,
                    "survivor_id": duplicate.pk,
                    "duplicate_id": survivor.pk,
                },
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


urlpatterns = [
    path("duplicates/", customer_duplicates, name="customer_duplicates"),
    path(
        "merge/<int:survivor_id>/<int:duplicate_id>/",
        customer_merge_view,
        name="customer_merge",
    ),
    path("<int:customer_id>/merge/", customer_merge_pick, name="customer_merge_pick"),
]
