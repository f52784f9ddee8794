from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.selectors import store_overview
from storefront_crm.jobs import job_start
from storefront_crm.request_input import id_param
from storefront_crm.tenancy import permission_required

from .forms import OrderExportForm
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
    customer_id = id_param(request.GET.get("customer"))
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    query = request.GET.get("q", "").strip()
    if query:
        number = id_param(query.lstrip("#"))
        orders = (
            orders.filter(number=number)
            if number is not None
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


@require_POST
@permission_required("orders.export")
def order_export(request: HttpRequest, store_slug: str) -> HttpResponse:
    """Start an export job (orders, or ordered products) and show its page, which ends
    with the download link."""
    form = OrderExportForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("panel:orders", store_slug=store_slug)
    data = form.cleaned_data
    job = job_start(
        store=request.store,
        kind="orders.export",
        actor=request.user,
        params={
            "what": data["what"],
            "date_from": data["date_from"].isoformat() if data["date_from"] else None,
            "date_to": data["date_to"].isoformat() if data["date_to"] else None,
            "status": data["status"] or None,
            "source": "browser",
        },
    )
    messages.success(request, _("Export started."))
    return redirect("panel:job", store_slug=store_slug, job_id=job.pk)
