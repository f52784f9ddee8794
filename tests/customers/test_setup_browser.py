"""The setup pages in a real browser: reach them from the panel, merge tags, order fields."""

import os

import pytest
from django_scopes import scopes_disabled

from customers.models import CustomerTag, CustomField
from tests.factories import (
    CustomerFactory,
    CustomerTagFactory,
    MembershipFactory,
    StoreFactory,
    TaggedCustomerFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("SETUP_SCREENSHOTS")  # a folder, to look at the pages


def shot(browser_page, name):
    if SCREENSHOTS:
        browser_page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_a_manager_merges_tags_and_orders_custom_fields(page, sign_in, password):
    with scopes_disabled():
        store = StoreFactory(slug="gamma", name="Gamma Shop")
        manager = MembershipFactory(store=store, role="manager").user
        customer = CustomerFactory(store=store, email="ada@example.org")
        vip = CustomerTagFactory(store=store, name="vip")
        gold = CustomerTagFactory(store=store, name="gold")
        TaggedCustomerFactory(store=store, content_object=customer, tag=vip)
        TaggedCustomerFactory(store=store, content_object=customer, tag=gold)
    base = sign_in(manager.email, password)

    page.goto(f"{base}/store/gamma/customers/")
    page.get_by_role("link", name="Tags", exact=True).first.click()
    page.get_by_text("2 of 250 tags").wait_for()
    shot(page, "tags")
    page.get_by_role("row", name="vip").get_by_role("link", name="Rename or merge").click()
    page.get_by_label("Name").fill("Gold")
    page.get_by_role("button", name="Rename").click()
    page.get_by_text("Another tag is already called").wait_for()
    shot(page, "tag_rename_taken")
    page.get_by_role("button", name="Merge").click()  # the suggested tag is preselected
    page.get_by_text("merged into").wait_for()

    with scopes_disabled():
        assert list(CustomerTag.objects.values_list("name", flat=True)) == ["gold"]
        assert [tag.name for tag in customer.tags.all()] == ["gold"]

    page.get_by_role("link", name="Custom fields").first.click()
    for label in ("Shoe size", "Birthday"):
        page.get_by_label("Label").fill(label)
        page.locator("#id_field_type").select_option(
            label="Date" if label == "Birthday" else "Number"
        )
        page.get_by_role("button", name="Add field").click()
        page.get_by_text(f"Field “{label}” added.").wait_for()
    page.get_by_role("button", name="Move Birthday up").click()
    page.wait_for_load_state()
    shot(page, "fields")

    with scopes_disabled():
        assert list(CustomField.objects.values_list("key", flat=True)) == ["birthday", "shoe_size"]

    page.get_by_role("link", name="Groups").first.click()
    page.get_by_label("Name").fill("Wholesale")
    page.get_by_label("Discount %").fill("12.5")
    page.get_by_role("button", name="Add group").click()
    page.get_by_role("row", name="Wholesale").wait_for()
    shot(page, "groups")
