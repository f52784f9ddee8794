"""Minimal storefront pages of a store (``/shop/<store_slug>/…``): the magic-link sign-in
that staff use to sign in as a customer, the shopper's account page, and the email
confirmation link.

A shopper's sign-in is kept in the session under a per-store key, not as Django's
``request.user``: staff who sign in as a customer keep their own panel session in the
same browser, a shopper of one store is nobody at another, and the panel (which looks only
at ``request.user`` and staff memberships) never sees a shopper.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from storefront_crm.models import Store, User
from storefront_crm.tenancy import store_scope

from ..models import Customer
from ..services.accounts import (
    customer_email_confirm,
    email_confirmation_customer,
    shop_scope,
    shopper_customer,
)


def _session_key(store: Store) -> str:
    return f"shop:{store.pk}:shopper"


def shopper_sign_in(request: HttpRequest, store: Store, user: User) -> None:
    request.session.cycle_key()  # a new session id at sign-in: no session fixation
    request.session[_session_key(store)] = {
        "user": user.pk,
        "hash": user.get_session_auth_hash(),
    }


def signed_in_customer(request: HttpRequest, store: Store) -> Customer | None:
    """The customer signed in to this store's storefront in this session, if any."""
    entry = request.session.get(_session_key(store))
    if not isinstance(entry, dict):
        return None
    user = User.objects.filter(pk=entry.get("user"), store=store).first()
    if user is None or user.get_session_auth_hash() != entry.get("hash"):
        return None
    return shopper_customer(store=store, user=user)


def shop_login(request: HttpRequest, store_slug: str) -> HttpResponse:
    """GET shows a "Continue" button and leaves the one-time token unspent (mail scanners
    and link previews fetch links); POST spends it and signs the shopper in."""
    from sesame.utils import get_user

    store = get_object_or_404(Store, slug=store_slug)
    token = request.POST.get("sesame") if request.method == "POST" else request.GET.get("sesame")
    with store_scope(store):
        # GET checks the token without spending it; POST spends it (one-time tokens).
        spend = request.method == "POST"
        user = get_user(token, scope=shop_scope(store), update_last_login=spend) if token else None
        valid = user is not None and shopper_customer(store=store, user=user) is not None
        if valid and spend:
            shopper_sign_in(request, store, user)
            return redirect("shop:account", store_slug=store.slug)
        failed = spend or (bool(token) and not valid)
        return render(
            request,
            "customers/shop/login.html",
            {"store": store, "token": token or "", "failed": failed},
            status=400 if failed else 200,
        )


def shop_account(request: HttpRequest, store_slug: str) -> HttpResponse:
    """The signed-in customer's orders with payment and fulfilment status."""
    from orders.selectors import customer_orders

    store = get_object_or_404(Store, slug=store_slug)
    with store_scope(store):
        customer = signed_in_customer(request, store)
        if customer is None:
            return redirect("shop:login", store_slug=store.slug)
        return render(
            request,
            "customers/shop/account.html",
            {
                "store": store,
                "customer": customer,
                "orders": list(customer_orders(store=store, customer=customer)[:100]),
            },
        )


@require_POST
def shop_logout(request: HttpRequest, store_slug: str) -> HttpResponse:
    store = get_object_or_404(Store, slug=store_slug)
    request.session.pop(_session_key(store), None)
    return redirect("shop:login", store_slug=store.slug)


def shop_confirm_email(request: HttpRequest, store_slug: str, token: str) -> HttpResponse:
    """The emailed confirmation link: GET asks for a click (prefetchers must not confirm),
    POST confirms."""
    store = get_object_or_404(Store, slug=store_slug)
    with store_scope(store):
        customer = email_confirmation_customer(store=store, token=token)
        confirmed = False
        if customer is not None and request.method == "POST":
            customer_email_confirm(store=store, customer=customer, via_link=True)
            confirmed = True
        return render(
            request,
            "customers/shop/confirm_email.html",
            {
                "store": store,
                "customer": customer,
                "confirmed": confirmed or (customer is not None and customer.email_confirmed),
            },
            status=200 if customer is not None else 400,
        )


urlpatterns = [
    path("login/", shop_login, name="login"),
    path("logout/", shop_logout, name="logout"),
    path("account/", shop_account, name="account"),
    path("confirm-email/<str:token>/", shop_confirm_email, name="confirm_email"),
]
