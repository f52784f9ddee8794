"""The customer profile page and its actions, through the views, with roles."""

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from customers.models import ActivityEvent, Customer, CustomerNote, CustomerTag, CustomFieldType
from orders.models import Order, OrderStatus
from storefront_crm.models import User
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    CustomerGroupFactory,
    CustomerNoteFactory,
    CustomerTagFactory,
    CustomFieldFactory,
    MembershipFactory,
    OrderFactory,
    TaggedCustomerFactory,
)
from tests.panel_urls import panel_url as url

pytestmark = pytest.mark.django_db


def client_as(client, store, role):
    client.force_login(MembershipFactory(store=store, role=role).user)
    return client


# --- The page -------------------------------------------------------------------------------


def test_the_profile_shows_details_orders_addresses_and_custom_fields(owner_client, store):
    CustomFieldFactory(store=store, key="vip", label="VIP", field_type=CustomFieldType.BOOLEAN)
    CustomFieldFactory(store=store, key="shoe", label="Shoe size", field_type="number")
    customer = CustomerFactory(
        store=store,
        email="jane@example.org",
        first_name="Jane",
        last_name="Doe",
        phone="+49 30 1234",
        company="Doe GmbH",
        vat_id="DE123456789",
        custom_fields={"vip": True, "shoe": 38},
        orders_count=1,
        total_spent=Decimal("80.00"),
    )
    AddressFactory(store=store, customer=customer, city="Berlin")
    OrderFactory(
        store=store,
        customer=customer,
        number=7,
        total=Decimal("80.00"),
        shipping_address={"city": "Hamburg"},
        billing_address={"city": "Bremen"},
    )
    OrderFactory(store=store, customer=customer, number=8, status=OrderStatus.CANCELLED)

    page = owner_client.get(url("customer", store, customer.pk)).content.decode()

    assert 'href="mailto:jane@example.org"' in page
    for text in ("Doe GmbH", "DE123456789", "Berlin", "Hamburg", "Bremen", "VIP", "Shoe size"):
        assert text in page
    assert "Yes" in page
    assert url("order", store, Order.objects.get(number=7).pk) in page
    assert "not counted" in page  # the cancelled order is listed, marked


def test_a_digital_last_order_shows_no_shipping_address(owner_client, store):
    customer = CustomerFactory(store=store)
    OrderFactory(
        store=store,
        customer=customer,
        is_digital=True,
        shipping_address={"city": "Nowhere-Town"},
        billing_address={"city": "Bremen"},
    )

    page = owner_client.get(url("customer", store, customer.pk)).content.decode()

    assert "Nowhere-Town" not in page
    assert "no shipping address" in page and "Bremen" in page


def _profile_queries(client, store, customer):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("customer", store, customer.pk))
    assert response.status_code == 200
    return len(queries)


def test_the_profile_runs_a_fixed_number_of_queries(owner_client, store, owner):
    small = CustomerFactory(store=store)
    big = CustomerFactory(store=store)
    for _ in range(30):
        OrderFactory(store=store, customer=big)
    for index in range(12):
        TaggedCustomerFactory(store=store, content_object=big)
        CustomerNoteFactory(store=store, customer=big, author=owner)
        ActivityEvent.objects.create(store=store, customer=big, actor=owner, verb="note.added")
        AddressFactory(store=store, customer=big, is_default=index == 0)
    for _ in range(60):  # more than the profile shows: the "older activity" link
        ActivityEvent.objects.create(store=store, customer=big, actor=owner, verb="note.added")

    _profile_queries(owner_client, store, small)  # warm up: session, last store, tag list
    baseline = _profile_queries(owner_client, store, small)

    assert _profile_queries(owner_client, store, big) == baseline
    # session, user, membership (middleware) + customer with group, orders, last counted
    # order, custom fields, activity with actors, its tags, the store's tags, notes with
    # authors, addresses (the store switcher's list is kept in the session)
    assert baseline == 10


def test_a_customer_of_another_store_is_a_404(owner_client, store, other_store, unscoped):
    foreign = CustomerFactory(store=other_store)

    assert owner_client.get(url("customer", store, foreign.pk)).status_code == 404
    assert owner_client.post(url("customer_delete", store, foreign.pk)).status_code == 404
    assert Customer.objects.filter(pk=foreign.pk).exists()


def test_the_activity_log_reads_as_sentences(owner_client, store, owner):
    customer = CustomerFactory(store=store)
    owner_client.post(url("tag_add", store, customer.pk), {"tags": "vip"})
    owner_client.post(url("note_create", store, customer.pk), {"body": "Called"})
    owner_client.post(url("customer_block", store, customer.pk), {"blocked": "1"})

    page = owner_client.get(url("customer", store, customer.pk)).content.decode()

    assert "Tags added: vip" in page
    assert "Added an internal note" in page
    assert "Blocked the account" in page
    assert owner.email in page or owner.full_name in page


# --- Roles ----------------------------------------------------------------------------------


def test_support_writes_notes_and_tags(client, store):
    customer = CustomerFactory(store=store)
    client_as(client, store, "support")

    client.post(url("note_create", store, customer.pk), {"body": "Asked about delivery"})
    client.post(url("tag_add", store, customer.pk), {"tags": "callback"})

    assert CustomerNote.objects.get(customer=customer).body == "Asked about delivery"
    assert list(customer.tags.names()) == ["callback"]


@pytest.mark.parametrize(
    ("name", "method", "data"),
    [
        ("customer_edit", "get", {}),
        ("customer_edit", "post", {"email": "x@example.org"}),
        ("customer_delete", "get", {}),
        ("customer_delete", "post", {}),
        ("customer_block", "post", {"blocked": "1"}),
        ("customer_activate", "post", {"active": "0"}),
        ("customer_email_confirm", "post", {}),
        ("customer_email_resend", "post", {}),
        ("customer_impersonate", "post", {}),
        ("customer_merge_pick", "get", {}),
    ],
)
def test_support_cannot_edit_delete_impersonate_or_merge(client, store, name, method, data):
    customer = CustomerFactory(store=store)
    client_as(client, store, "support")

    response = getattr(client, method)(url(name, store, customer.pk), data)

    assert response.status_code == 403
    customer.refresh_from_db()
    assert not customer.is_blocked and customer.is_active


def test_support_cannot_open_create_merge_or_duplicates(client, store):
    one, two = CustomerFactory(store=store), CustomerFactory(store=store)
    client_as(client, store, "support")

    assert client.get(url("customer_create", store)).status_code == 403
    assert client.get(url("customer_duplicates", store)).status_code == 403
    assert client.post(url("customer_merge", store, one.pk, two.pk)).status_code == 403
    assert Customer.objects.filter(pk=two.pk).exists()


def test_support_sees_no_buttons_it_cannot_use(client, store):
    customer = CustomerFactory(store=store)
    client_as(client, store, "support")

    page = client.get(url("customer", store, customer.pk)).content.decode()

    assert url("customer_edit", store, customer.pk) not in page
    assert url("customer_impersonate", store, customer.pk) not in page
    assert url("note_create", store, customer.pk) in page


# --- Create and edit -------------------------------------------------------------------------


def test_create_a_customer_with_tags_group_and_consent(owner_client, store):
    group = CustomerGroupFactory(store=store, name="Wholesale")

    response = owner_client.post(
        url("customer_create", store),
        {
            "email": "New.Person@Example.org",
            "first_name": "New",
            "account_type": "guest",
            "group": group.pk,
            "tags": "wholesale, newsletter",
            "accepts_marketing": "on",
        },
    )

    customer = Customer.objects.get(email="new.person@example.org")
    assert response.status_code == 302
    assert response["Location"] == url("customer", store, customer.pk)
    assert customer.group == group
    assert sorted(customer.tags.names()) == ["newsletter", "wholesale"]
    assert customer.accepts_marketing and customer.marketing_consent_at


def test_an_invalid_email_is_a_field_error(owner_client, store):
    response = owner_client.post(
        url("customer_create", store), {"email": "not-an-email", "account_type": "guest"}
    )

    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert not Customer.objects.exists()


def test_an_email_another_customer_has_links_to_that_customer(owner_client, store):
    other = CustomerFactory(store=store, email="taken@example.org")
    customer = CustomerFactory(store=store)

    response = owner_client.post(
        url("customer_edit", store, customer.pk),
        {
            "email": "TAKEN@example.org",
            "account_type": "guest",
            "group": customer.group_id,
            "customer_since": "2024-01-15",
        },
    )

    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert f'href="{url("customer", store, other.pk)}"' in response.content.decode()


def test_edit_every_field_and_custom_fields_by_type(owner_client, store):
    CustomFieldFactory(store=store, key="shoe", field_type=CustomFieldType.NUMBER)
    CustomFieldFactory(store=store, key="born", field_type=CustomFieldType.DATE)
    CustomFieldFactory(store=store, key="vip", field_type=CustomFieldType.BOOLEAN)
    CustomFieldFactory(
        store=store, key="size", field_type=CustomFieldType.CHOICE, choices=["S", "M"]
    )
    group = CustomerGroupFactory(store=store)
    customer = CustomerFactory(store=store)

    response = owner_client.post(
        url("customer_edit", store, customer.pk),
        {
            "email": "changed@example.org",
            "first_name": "Anna",
            "last_name": "Berg",
            "phone": "0301",
            "company": "Berg AG",
            "country": "at",
            "customer_since": "2020-01-02",
            "account_type": "registered",
            "group": group.pk,
            "tax_exempt": "on",
            "vat_id": "ATU1234",
            "cf_shoe": "39",
            "cf_born": "1990-05-17",
            "cf_vip": "yes",
            "cf_size": "M",
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    customer.refresh_from_db()
    assert (customer.email, customer.company, customer.country) == (
        "changed@example.org",
        "Berg AG",
        "AT",
    )
    assert customer.group == group and customer.tax_exempt and customer.vat_id == "ATU1234"
    assert customer.customer_since.date().isoformat() == "2020-01-02"
    assert customer.custom_fields == {"shoe": 39, "born": "1990-05-17", "vip": True, "size": "M"}
    event = ActivityEvent.objects.filter(customer=customer, verb="customer.updated").get()
    assert "email" in event.data["changes"] and "group" in event.data["changes"]


@pytest.mark.parametrize(
    ("field_type", "value"),
    [("number", "a lot"), ("date", "yesterday"), ("choice", "XXL")],
)
def test_a_custom_field_of_the_wrong_type_is_a_field_error(owner_client, store, field_type, value):
    CustomFieldFactory(store=store, key="f", field_type=field_type, choices=["S"])
    customer = CustomerFactory(store=store)

    response = owner_client.post(
        url("customer_edit", store, customer.pk),
        {
            "email": customer.email,
            "account_type": "guest",
            "group": customer.group_id,
            "cf_f": value,
        },
    )

    assert response.status_code == 400
    assert "cf_f" in response.context["form"].errors
    customer.refresh_from_db()
    assert customer.custom_fields == {}


# --- Delete and account actions ------------------------------------------------------------


def test_delete_asks_first_and_says_what_happens_to_the_orders(owner_client, store):
    customer = CustomerFactory(store=store)
    order = OrderFactory(store=store, customer=customer)

    page = owner_client.get(url("customer_delete", store, customer.pk)).content.decode()
    assert "1 order is kept" in page
    assert Customer.objects.filter(pk=customer.pk).exists()

    response = owner_client.post(url("customer_delete", store, customer.pk))

    assert response.status_code == 302
    assert not Customer.objects.filter(pk=customer.pk).exists()
    order.refresh_from_db()
    assert order.customer_id is None


def test_block_unblock_activate_deactivate_and_confirm(client, store):
    customer = CustomerFactory(store=store, account_type="registered")
    client_as(client, store, "manager")

    client.post(url("customer_block", store, customer.pk), {"blocked": "1"})
    client.post(url("customer_activate", store, customer.pk), {"active": "0"})
    client.post(url("customer_email_confirm", store, customer.pk))
    customer.refresh_from_db()
    assert customer.is_blocked and not customer.is_active and customer.email_confirmed

    client.post(url("customer_block", store, customer.pk), {"blocked": "0"})
    client.post(url("customer_activate", store, customer.pk), {"active": "1"})
    customer.refresh_from_db()
    assert not customer.is_blocked and customer.is_active
    assert client.get(url("customer_block", store, customer.pk)).status_code == 405


def test_the_confirmation_email_has_a_working_link(
    owner_client, client, store, mailoutbox, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(store=store, email="shopper@example.org", account_type="registered")

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url("customer_email_resend", store, customer.pk))

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["shopper@example.org"]
    link = re.search(r"https?://\S+/confirm-email/\S+/", message.body).group(0)
    path = urlparse(link).path
    assert path.startswith(f"/shop/{store.slug}/confirm-email/")

    shopper = client  # the shopper's own browser, not signed in anywhere
    assert shopper.get(path).status_code == 200  # a prefetch does not confirm
    customer.refresh_from_db()
    assert not customer.email_confirmed

    response = shopper.post(path)

    assert response.status_code == 200 and b"is confirmed" in response.content
    customer.refresh_from_db()
    assert customer.email_confirmed
    event = ActivityEvent.objects.get(customer=customer, verb="email.confirmed")
    assert event.data == {"via_link": True}


def test_a_forged_confirmation_link_is_refused(client, store):
    customer = CustomerFactory(store=store)

    response = client.post(f"/shop/{store.slug}/confirm-email/forged:token/")

    assert response.status_code == 400
    customer.refresh_from_db()
    assert not customer.email_confirmed


# --- Notes and tags ---------------------------------------------------------------------------


def test_notes_can_be_added_edited_and_deleted_newest_first(owner_client, store, owner):
    customer = CustomerFactory(store=store)
    owner_client.post(url("note_create", store, customer.pk), {"body": "First"})
    owner_client.post(url("note_create", store, customer.pk), {"body": "Second"})
    first, second = CustomerNote.objects.order_by("id")

    page = owner_client.get(url("customer", store, customer.pk)).content.decode()
    assert page.index("Second") < page.index("First")

    owner_client.post(url("note_edit", store, customer.pk, first.pk), {"body": "First, edited"})
    owner_client.post(url("note_delete", store, customer.pk, second.pk))

    first.refresh_from_db()
    assert first.body == "First, edited" and first.edited_at
    assert not CustomerNote.objects.filter(pk=second.pk).exists()
    assert first.author == owner


def test_tags_are_added_from_the_store_tags_and_removed_with_one_click(owner_client, store):
    CustomerTagFactory(store=store, name="known")
    customer = CustomerFactory(store=store)

    page = owner_client.get(url("customer", store, customer.pk)).content.decode()
    assert '<option value="known">' in page  # autocomplete of the store's tags

    owner_client.post(url("tag_add", store, customer.pk), {"tags": "Known, fresh"})
    assert sorted(customer.tags.names()) == ["fresh", "known"]
    owner_client.post(url("tag_remove", store, customer.pk), {"tag": "known"})
    assert list(customer.tags.names()) == ["fresh"]
    # Each tag links to the list of every customer who has it.
    fresh = CustomerTag.objects.get(store=store, name="fresh")
    page = owner_client.get(url("customer", store, customer.pk)).content.decode()
    assert f'href="/store/{store.slug}/customers/?tag={fresh.pk}"' in page


def test_sentences_for_consent_group_and_bulk_edits(store):
    from customers.views.profile_display import event_sentence

    def sentence(verb, **data):
        return event_sentence(ActivityEvent(store=store, verb=verb, data=data))

    assert sentence("customer.updated", changes={"accepts_marketing": ["False", "True"]}) == (
        "Edited: gave marketing consent"
    )
    assert (
        sentence("customer.updated", changes={"group": ["Guests", "VIP"]}, bulk=True)
        == "Edited: moved to group “VIP” (bulk edit)"
    )
    assert sentence("customer.updated", changes={"email": ["a@x.org", "b@x.org"]}) == (
        "Edited: changed email from “a@x.org” to “b@x.org”"
    )
    assert sentence("customer.merged", duplicate={"email": "d@x.org"}, orders_moved=2) == (
        "Merged with the duplicate profile d@x.org (2 orders moved)"
    )
    assert sentence("customer.impersonated") == "Signed in to the storefront as this customer"
    assert sentence("something.new") == "something.new"


def test_changing_the_email_on_the_form_moves_the_storefront_login(owner_client, store):
    from sesame.utils import get_user

    from customers.services.accounts import shop_scope

    customer = CustomerFactory(
        store=store, email="old@example.org", first_name="Ola", account_type="registered"
    )
    link = owner_client.post(url("customer_impersonate", store, customer.pk))["Location"]
    token = parse_qs(urlparse(link).query)["sesame"][0]
    form = owner_client.get(url("customer_edit", store, customer.pk)).content.decode()
    assert 'id="login-email-hint"' in form

    response = owner_client.post(
        url("customer_edit", store, customer.pk),
        {
            "email": "new@example.org",
            "first_name": "Ola",
            "account_type": customer.account_type,
            "group": customer.group_id,
            "customer_since": "2024-01-15",
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    login = User.objects.get(customers=customer)
    assert login.email == "new@example.org"
    refused = Client().post(f"/shop/{store.slug}/login/", {"sesame": token})
    assert refused.status_code == 400
    assert get_user(token, scope=shop_scope(store)) is None
    profile = owner_client.get(url("customer", store, customer.pk)).content.decode()
    assert (
        "The storefront login moved to new@example.org; sign-in links sent before no longer work"
        in profile
    )


def test_the_edit_form_says_nothing_about_a_login_the_customer_does_not_have(owner_client, store):
    customer = CustomerFactory(store=store)

    form = owner_client.get(url("customer_edit", store, customer.pk)).content.decode()

    assert 'id="login-email-hint"' not in form
