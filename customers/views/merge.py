"""Duplicate profiles: the possible-duplicates page, picking a profile to merge with, the
side-by-side merge, and the page of a profile that was merged away or deleted."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.jobs import job_start
from storefront_crm.tenancy import permission_required

from ..forms import MergeForm, MergePickForm
from ..models import Customer
from ..selectors import customer_count_hint
from ..services.merge import (
    DUPLICATES_INLINE_LIMIT,
    DUPLICATES_JOB,
    MERGED_AWAY,
    customer_merge,
    customer_removed_event,
    duplicate_groups_find,
    duplicate_groups_latest,
    merge_account_rows,
    merge_partner_find,
    merge_refusals,
    merge_rows,
)
from .profile import CustomerGone, customer_or_404, profile_redirect
from .profile_display import custom_field_display


def customer_gone_page(request: HttpRequest, customer_id: int) -> HttpResponse | None:
    """410 Gone with where the profile went; None for an id the store never had (or one
    of another store), which stays a plain 404."""
    store = getattr(request, "store", None)
    if store is None:
        return None
    event = customer_removed_event(store=store, customer_id=customer_id)
    if event is None:
        return None
    merged_into = (event.data or {}).get("merged_into") if event.verb == MERGED_AWAY else None
    survivor = None
    if merged_into:
        survivor = Customer.objects.filter(store=store, pk=merged_into.get("id")).first()
    return render(
        request,
        "customers/profile/gone.html",
        {"event": event, "merged_into": merged_into, "survivor": survivor},
        status=410,
    )


class CustomerGoneMiddleware:
    """Renders ``CustomerGone`` (raised by ``profile.customer_or_404``) from any panel view
    as the friendly page (after ``storefront_crm.tenancy.StoreMiddleware`` in
    ``MIDDLEWARE``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, CustomerGone):
            return customer_gone_page(request, exception.customer_id)
        return None


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
        try:
            other = merge_partner_find(
                store=request.store, customer=customer, reference=form.cleaned_data["other"]
            )
        except ServiceError as error:
            form.add_error("other", error.message)
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
    """Side by side: the merchant picks which value of each differing field to keep. What
    refuses the merge whatever is chosen shows before Merge, and Merge is disabled then."""
    store = request.store
    # Back after the merge: CustomerGoneMiddleware says where the duplicate went.
    survivor = customer_or_404(survivor_id)
    duplicate = customer_or_404(duplicate_id)
    refusals = [
        error.message
        for error in merge_refusals(store=store, survivor=survivor, duplicate=duplicate)
    ]
    rows = merge_rows(survivor, duplicate, store)
    for row in rows:
        if row["custom_field"] is not None:  # as the profile shows them
            for side in ("survivor", "duplicate"):
                shown = custom_field_display(row["custom_field"], row[side], store.language)
                row[f"{side}_display"] = shown or "—"
    form = MergeForm(request.POST if request.method == "POST" else None, rows=rows)
    if request.method == "POST" and not refusals and form.is_valid():
        orders = duplicate.orders.count()
        try:
            merged = customer_merge(
                store=store,
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
                ngettext(
                    "%(email)s merged into this profile (%(count)d order moved).",
                    "%(email)s merged into this profile (%(count)d orders moved).",
                    orders,
                )
                % {"email": duplicate.email, "count": orders},
            )
            return profile_redirect(merged, store_slug)
    return render(
        request,
        "customers/profile/merge.html",
        {
            "survivor": survivor,
            "duplicate": duplicate,
            "refusals": refusals,
            "rows": [
                (row, form[MergeForm.field_name(row["key"])] if row["differs"] else None)
                for row in rows
            ],
            "account_rows": merge_account_rows(store, survivor, duplicate),
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
