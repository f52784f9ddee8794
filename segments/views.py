"""Panel views of segments. For now: "Save as segment" from the customer list."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.filters import PAGING_PARAMS, CustomerFilterSet
from storefront_crm.errors import ServiceError
from storefront_crm.tenancy import permission_required

from .services import segment_create


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
