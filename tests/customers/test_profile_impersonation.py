"""Staff signing in as a customer on the storefront, and shopper sessions vs the panel."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse

from customers.models import ActivityEvent
from customers.services.accounts import customer_impersonation_start, shop_scope
from orders.models import FulfillmentStatus, PaymentStatus
from storefront_crm.models import User
from tests.factories import CustomerFactory, MembershipFactory, OrderFactory, StoreFactory

pytestmark = pytest.mark.django_db


def start(client, store, customer, role="owner"):
    staff = MembershipFactory(store=store, role=role).user
    client.force_login(staff)
    response = client.post(reverse("panel:customer_impersonate", args=[store.slug, customer.pk]))
    return staff, response


def test_the_whole_sign_in_as_flow(client, store):
    customer = CustomerFactory(store=store, account_type="registered", email="shopper@example.org")
    OrderFactory(
        store=store,
        customer=customer,
        number=42,
        payment_status=PaymentStatus.PAID,
        fulfillment_status=FulfillmentStatus.SHIPPED,
    )
    staff, response = start(client, store, customer, role="manager")

    assert response.status_code == 302
    link = urlparse(response["Location"])
    assert link.path == f"/shop/{store.slug}/login/"
    token = parse_qs(link.query)["sesame"][0]

    # GET shows a Continue page and does not spend the token (link scanners, previews)
    shopper = Client()
    continue_page = shopper.get(response["Location"])
    assert continue_page.status_code == 200 and b"Continue" in continue_page.content
    assert shopper.get(response["Location"]).status_code == 200
    assert shopper.get(f"/shop/{store.slug}/account/").status_code == 302  # not signed in

    # POST spends it and signs the shopper in
    signed_in = shopper.post(f"/shop/{store.slug}/login/", {"sesame": token})
    assert signed_in["Location"] == f"/shop/{store.slug}/account/"
    account = shopper.get(f"/shop/{store.slug}/account/").content.decode()
    assert "#42" in account and "Paid" in account and "Shipped" in account

    # one-time: the same token does not work twice
    again = Client().post(f"/shop/{store.slug}/login/", {"sesame": token})
    assert again.status_code == 400

    event = ActivityEvent.objects.get(verb="customer.impersonated")
    assert event.customer == customer and event.actor == staff
    identity = User.objects.get(customers=customer)
    assert identity.store == store and not identity.is_staff


def test_a_shopper_session_never_passes_the_staff_panel(client, store):
    customer = CustomerFactory(store=store, account_type="registered")
    _staff, response = start(client, store, customer)
    token = parse_qs(urlparse(response["Location"]).query)["sesame"][0]
    shopper = Client()
    shopper.post(f"/shop/{store.slug}/login/", {"sesame": token})
    assert shopper.get(f"/shop/{store.slug}/account/").status_code == 200

    panel = shopper.get(reverse("panel:customers", args=[store.slug]))

    assert panel.status_code == 302 and panel["Location"].startswith("/login/")
    # even signed in through Django's auth, a shopper identity has no membership
    shopper.force_login(User.objects.get(customers=customer))
    assert shopper.get(reverse("panel:customers", args=[store.slug])).status_code == 404
    assert shopper.get(reverse("panel:dashboard", args=[store.slug])).status_code == 404


def test_staff_stay_signed_in_to_the_panel_after_signing_in_as_a_customer(client, store):
    customer = CustomerFactory(store=store, account_type="registered")
    _staff, response = start(client, store, customer)
    token = parse_qs(urlparse(response["Location"]).query)["sesame"][0]

    client.post(f"/shop/{store.slug}/login/", {"sesame": token})

    assert client.get(f"/shop/{store.slug}/account/").status_code == 200
    assert client.get(reverse("panel:customers", args=[store.slug])).status_code == 200


def test_a_token_for_one_store_does_not_sign_in_at_another(client, store, unscoped):
    other = StoreFactory(slug="gamma")
    customer = CustomerFactory(store=store, account_type="registered")
    _staff, response = start(client, store, customer)
    token = parse_qs(urlparse(response["Location"]).query)["sesame"][0]

    refused = Client().post(f"/shop/{other.slug}/login/", {"sesame": token})

    assert refused.status_code == 400


def test_a_blocked_customer_cannot_use_a_link_issued_before(client, store, owner):
    customer = CustomerFactory(store=store, account_type="registered")
    path = customer_impersonation_start(store=store, customer=customer, actor=owner)
    customer.is_blocked = True
    customer.save()
    token = parse_qs(urlparse(path).query)["sesame"][0]

    shopper = Client()
    assert shopper.post(f"/shop/{store.slug}/login/", {"sesame": token}).status_code == 400
    assert shopper.get(f"/shop/{store.slug}/account/").status_code == 302


def test_a_staff_token_does_not_sign_in_to_a_shop(client, store, owner):
    from sesame.utils import get_token

    token = get_token(owner, scope=shop_scope(store))

    assert Client().post(f"/shop/{store.slug}/login/", {"sesame": token}).status_code == 400


@pytest.mark.parametrize("role", ["support"])
def test_support_cannot_sign_in_as_a_customer(client, store, role):
    customer = CustomerFactory(store=store, account_type="registered")

    _staff, response = start(client, store, customer, role=role)

    assert response.status_code == 403
    assert not ActivityEvent.objects.filter(verb="customer.impersonated").exists()
    assert not User.objects.filter(store=store).exists()


def test_a_spent_link_says_so_already_on_get(client, store, owner):
    customer = CustomerFactory(store=store, account_type="registered")
    path = customer_impersonation_start(store=store, customer=customer, actor=owner)
    token = parse_qs(urlparse(path).query)["sesame"][0]
    Client().post(f"/shop/{store.slug}/login/", {"sesame": token})

    page = Client().get(path)

    assert page.status_code == 400 and b"already used or has expired" in page.content


def test_a_link_for_one_store_is_refused_at_another_with_a_same_email_customer(
    client, store, unscoped
):
    # Given a customer of store A and a customer with the same email in store B
    from sesame.utils import get_user

    other = StoreFactory(slug="delta")
    customer = CustomerFactory(store=store, account_type="registered", email="same@example.com")
    CustomerFactory(store=other, account_type="registered", email="same@example.com")
    _staff, response = start(client, store, customer)
    token = parse_qs(urlparse(response["Location"]).query)["sesame"][0]

    # When the link issued at A is used at B, then B's page refuses it...
    assert Client().post(f"/shop/{other.slug}/login/", {"sesame": token}).status_code == 400
    # ...and the token itself is worthless under B's scope (it is bound to A's, not to a
    # shared one), while still valid under A's.
    assert shop_scope(store) != shop_scope(other)
    assert get_user(token, scope=shop_scope(other), update_last_login=False) is None
    assert get_user(token, scope=shop_scope(store), update_last_login=False) is not None
