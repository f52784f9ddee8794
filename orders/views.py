from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from customers.selectors import store_overview
from storefront_crm.tenancy import permission_required

from .models import Order, OrderStatus
from .selectors import order_list, sales_last_days, unprocessed_count

PAGE_SIZE = 50


@permission_required("panel.view")
def dashboard(request: HttpRequest, store_slug: str) -> HttpResponse:
    store = request.store
    return render(
        request,
        "orders/dashboard.html",
        {
            "overview": store_overview(store=store),
            "sales": sales_last_days(store=store),
            "unprocessed": unprocessed_count(store=store),
        },
    )


@permission_required("orders.view")
def order_index(request: HttpRequest, store_slug: str) -> HttpResponse:
    orders = order_list(store=request.store)
    status = request.GET.get("status", "")
    if status in OrderStatus.values:
        orders = orders.filter(status=status)
    customer_id = request.GET.get("customer", "")
    if customer_id.isdigit():
        orders = orders.filter(customer_id=int(customer_id))
    query = request.GET.get("q", "").strip()
    if query:
        orders = (
            orders.filter(number=int(query.lstrip("#")))
            if query.lstrip("#").isdigit()
            else orders.filter(email__icontains=query.lower())
        )
    page = Paginator(orders.order_by("-placed_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "orders/order_list.html",
        {
            "page": page,
            "status": status,
            "query": query,
            "statuses": OrderStatus.choices,
        },
    )


@permission_required("orders.view")
def order_detail(request: HttpRequest, store_slug: str, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order.objects.select_related("customer"), pk=order_id)
    return render(
        request,
        "orders/order_detail.html",
        {"order": order, "items": order.items.select_related("product")},
    )
