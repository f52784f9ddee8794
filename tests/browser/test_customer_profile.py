"""In the browser: sign in, filter the customer list, open a profile, add a tag and a
note, reload and see both."""

import pytest
from django_scopes import scopes_disabled

from tests.factories import CustomerFactory, CustomerTagFactory, MembershipFactory, StoreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tag_and_note_on_a_profile_survive_a_reload(page, sign_in, password):
    with scopes_disabled():
        store = StoreFactory(slug="profile-shop", name="Profile Shop")
        owner = MembershipFactory(store=store, role="owner").user
        CustomerFactory(
            store=store, email="zoe.quinn@example.org", first_name="Zoe", last_name="Quinn"
        )
        CustomerFactory(
            store=store, email="adam.smith@example.org", first_name="Adam", last_name="Smith"
        )
        CustomerTagFactory(store=store, name="wholesale")

    base = sign_in(owner.email, password)
    page.goto(f"{base}/store/profile-shop/customers/?q=quinn")
    assert page.get_by_text("zoe.quinn@example.org").first.is_visible()
    assert page.get_by_text("adam.smith@example.org").count() == 0

    page.get_by_role("link", name="zoe.quinn@example.org").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Zoe Quinn").is_visible()

    page.get_by_label("Add tags").fill("wholesale")
    page.get_by_role("button", name="Add tag").click()
    page.wait_for_load_state()
    page.locator("#id_body").fill("Prefers delivery on Fridays")
    page.get_by_role("button", name="Save note").click()
    page.wait_for_load_state()

    page.reload()
    tags = page.locator("#customer-tags")
    assert tags.get_by_text("wholesale").is_visible()
    assert page.locator("article.note p").get_by_text("Prefers delivery on Fridays").is_visible()
    assert page.get_by_role("button", name="Remove tag wholesale").is_visible()
    activity = page.locator("section", has=page.get_by_role("heading", name="Activity"))
    assert activity.get_by_text("Tags added: wholesale").is_visible()
    assert activity.get_by_text("Added an internal note").is_visible()


def test_saved_addresses_are_added_edited_and_deleted(page, sign_in, password):
    with scopes_disabled():
        store = StoreFactory(slug="address-shop", name="Address Shop")
        owner = MembershipFactory(store=store, role="owner").user
        customer = CustomerFactory(
            store=store, email="ada@example.org", first_name="Ada", last_name="Byron"
        )

    base = sign_in(owner.email, password)
    page.goto(f"{base}/store/address-shop/customers/{customer.pk}/")
    addresses = page.locator("section", has=page.get_by_role("heading", name="Saved addresses"))
    assert addresses.get_by_text("No saved addresses.").is_visible()

    addresses.get_by_role("button", name="Add address").click()
    page.wait_for_load_state()
    page.locator("#id_kind").select_option("billing")
    page.get_by_label("Street and number").fill("Hauptstr. 1")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Country").fill("XX")
    page.get_by_role("button", name="Add address").click()
    page.wait_for_load_state()
    assert page.locator(".field-error").get_by_text("is not a country code").is_visible()

    page.get_by_label("Country").fill("de")
    page.get_by_role("button", name="Add address").click()
    page.wait_for_load_state()
    assert page.get_by_text("Address added.").is_visible()
    assert addresses.get_by_text("Hauptstr. 1").is_visible()
    activity = page.locator("section", has=page.get_by_role("heading", name="Activity"))
    assert activity.get_by_text("Added a billing address: Hauptstr. 1, Berlin, DE").is_visible()

    addresses.get_by_role("link", name="Edit address Hauptstr. 1, Berlin, DE").click()
    page.wait_for_load_state()
    page.get_by_label("City").fill("Potsdam")
    page.get_by_role("button", name="Save address").click()
    page.wait_for_load_state()
    assert addresses.get_by_text("Potsdam").is_visible()
    assert activity.get_by_text("changed city from “Berlin” to “Potsdam”").is_visible()

    addresses.get_by_role("link", name="Delete address Hauptstr. 1, Potsdam, DE").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Delete this address?").is_visible()
    page.get_by_role("button", name="Delete address").click()
    page.wait_for_load_state()
    assert addresses.get_by_text("No saved addresses.").is_visible()
    assert activity.get_by_text("Deleted a billing address").is_visible()


def test_older_orders_and_activity_are_a_click_away(page, sign_in, password):
    import datetime

    from customers.models import ActivityEvent
    from tests.factories import OrderFactory

    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    with scopes_disabled():
        store = StoreFactory(slug="history-shop", name="History Shop")
        owner = MembershipFactory(store=store, role="owner").user
        customer = CustomerFactory(store=store, first_name="Hal", last_name="Story")
        for number in range(1, 31):
            OrderFactory(
                store=store,
                customer=customer,
                number=number,
                placed_at=start + datetime.timedelta(days=number),
            )
        ActivityEvent.objects.bulk_create(
            ActivityEvent(
                store=store,
                customer=customer,
                verb="order.updated",
                data={"order": f"E{n}"},
                created_at=start + datetime.timedelta(minutes=n),
            )
            for n in range(1, 171)
        )

    base = sign_in(owner.email, password)
    page.goto(f"{base}/store/history-shop/customers/{customer.pk}/")
    assert page.get_by_role("link", name="#6", exact=True).is_visible()
    assert page.get_by_role("link", name="#5", exact=True).count() == 0

    page.get_by_role("link", name="Older orders").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Orders of Hal Story").is_visible()
    numbers = page.locator("table tbody tr td:first-child").all_inner_texts()
    assert numbers == ["#5", "#4", "#3", "#2", "#1"]
    page.get_by_role("link", name="Newest").click()
    page.wait_for_load_state()
    assert page.locator("table tbody tr").count() == 30

    page.goto(f"{base}/store/history-shop/customers/{customer.pk}/")
    page.get_by_role("link", name="Older activity").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Activity of Hal Story").is_visible()
    assert page.get_by_text("Order #E120 changed", exact=True).is_visible()  # right after 50
    assert page.get_by_text("Order #E121 changed", exact=True).count() == 0
    page.get_by_role("link", name="Older").click()
    page.wait_for_load_state()
    assert page.get_by_text("Order #E1 changed", exact=True).is_visible()
    page.get_by_role("link", name="Newer").click()
    page.wait_for_load_state()
    assert page.get_by_text("Order #E120 changed", exact=True).is_visible()


def test_a_new_email_makes_an_earlier_sign_in_link_useless(page, sign_in, password):
    from customers.services.accounts import customer_impersonation_start
    from storefront_crm.tenancy import store_scope

    with scopes_disabled():
        store = StoreFactory(slug="email-shop", name="Email Shop")
        owner = MembershipFactory(store=store, role="owner").user
        customer = CustomerFactory(
            store=store, email="before@example.org", first_name="Bo", account_type="registered"
        )
    with store_scope(store):
        link = customer_impersonation_start(store=store, customer=customer, actor=owner)

    base = sign_in(owner.email, password)
    page.goto(f"{base}/store/email-shop/customers/{customer.pk}/edit/")
    assert page.get_by_text("This customer has a storefront login.").is_visible()
    page.get_by_label("Email").fill("after@example.org")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert page.get_by_text("Customer saved.").is_visible()
    activity = page.locator("section", has=page.get_by_role("heading", name="Activity"))
    assert activity.get_by_text("The storefront login moved to after@example.org").is_visible()

    page.goto(f"{base}{link}")  # the link checks its token on opening, before any click
    assert page.get_by_text("This sign-in link is invalid, was already used").is_visible()
    assert page.get_by_role("button", name="Continue").count() == 0
