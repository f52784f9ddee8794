"""Panel views of segments: the saved segments with their customers, "Save as segment"
from the customer list, deleting one."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.conditions import Condition
from customers.filters import PAGING_PARAMS, CustomerFilterSet, filter_params
from storefront_crm.errors import ServiceError
from storefront_crm.tenancy import can, permission_required

from .models import Segment
from .selectors import segment_summaries
from .services import segment_create, segment_delete


def _list_url(store_slug: str, conditions: list[Condition] | None) -> str | None:
    """The customer list showing a segment's customers, when its filters can show it."""
    params = None if conditions is None else filter_params(conditions)
    if params is None:
        return None
    url = reverse("panel:customers", kwargs={"store_slug": store_slug})
    return f"{url}?{params.urlencode()}" if params else url


@permission_required("customers.view")
def segment_index(request: HttpRequest, store_slug: str) -> HttpResponse:
    """The store's saved segments, each with its customer count and a link to them."""
    rows = [
        (summary, _list_url(store_slug, summary.conditions))
        for summary in segment_summaries(store=request.store)
    ]
    return render(
        request,
        "segments/index.html",
        {"rows": rows, "can_edit": can(request, "segments.edit")},
    )


@permission_required("segments.edit")
def segment_remove(request: HttpRequest, store_slug: str, segment_id: int) -> HttpResponse:
    """Asks first; the POST deletes the segment (never its customers)."""
    segment = get_object_or_404(Segment, pk=segment_id)
    if request.method == "POST":
        segment_delete(store=request.store, actor=request.user, segment=segment)
        messages.success(request, _("Segment “%(name)s” deleted.") % {"name": segment.name})
        return redirect("panel:segments", store_slug=store_slug)
    return render(request, "segments/delete.html", {"segment": segment})


@require_POST
@permission_required("segments.edit")
def segment_create_from_list(request: HttpRequest, store_slug: str) -> HttpResponse:
    """Save the customer list's current filters (posted as ``query``) as a segment."""
    query = QueryDict(request.POST.get("query", ""), mutable=True)
    for key in PAGING_PARAMS:
        query.pop(key, None)
    filters = CustomerFilterSet(query, store=request.store)
    try:
        segment = segment_create(
            store=request.store,
            actor=request.user,
            name=request.POST.get("name", ""),
            conditions=filters.conditions(),
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
    url = reverse("panel:customers", kwargs={"store_slug": store_slug})
    return redirect(f"{url}?{urlencode(list(query.lists()), doseq=True)}" if query else url)
