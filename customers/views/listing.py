from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from storefront_crm.tenancy import permission_required

from ..selectors import customer_list

PAGE_SIZE = 50
SORTS = {
    "name": ("last_name", "first_name", "id"),
    "email": ("email", "id"),
    "orders": ("orders_count", "id"),
    "spent": ("total_spent", "id"),
    "last_order": ("last_order_at", "id"),
    "since": ("customer_since", "id"),
}


@permission_required("customers.view")
def customer_index(request: HttpRequest, store_slug: str) -> HttpResponse:
    customers = customer_list(store=request.store)
    query = request.GET.get("q", "").strip()
    if query:
        customers = (
            customers.filter(email__icontains=query)
            | customers.filter(last_name__icontains=query)
            | customers.filter(first_name__icontains=query)
        )
    sort = request.GET.get("sort", "-since")
    key = sort.lstrip("-")
    fields = SORTS.get(key, SORTS["since"])
    prefix = "-" if sort.startswith("-") else ""
    customers = customers.order_by(*(prefix + field for field in fields))
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "customers/customer_list.html", {"page": page, "query": query, "sort": sort}
    )


urlpatterns = [
    path("", customer_index, name="customers"),
]
