"""In the browser: the filter fields load when the panel opens, selecting a row opens the
collapsed bulk actions, and without JavaScript both still work."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests.factories import (
    CustomerFactory,
    CustomerGroupFactory,
    CustomerTagFactory,
    MembershipFactory,
    StoreFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seed():
    with scopes_disabled():
        store = StoreFactory(slug="list-shop", name="List Shop")
        owner = MembershipFactory(store=store, role="owner").user
        CustomerGroupFactory(store=store, name="Wholesale")
        CustomerTagFactory(store=store, name="newsletter")
        CustomerFactory(store=store, email="ada@example.org", country="DE")
        CustomerFactory(store=store, email="bob@example.org", country="AT")
    return owner


def test_filter_panel_loads_on_open_and_bulk_actions_open_on_selection(page, sign_in, password):
    owner = seed()
    base = sign_in(owner.email, password)
    page.goto(f"{base}/store/list-shop/customers/")

    bulk = page.locator("#bulk-actions")
    expect(page.get_by_role("cell", name="ada@example.org")).to_be_visible()
    expect(page.get_by_label("Action", exact=True)).to_be_hidden()  # collapsed until needed
    page.get_by_role("row").filter(has_text="ada@example.org").get_by_role("checkbox").check()
    expect(bulk).to_have_attribute("open", "")
    expect(page.get_by_label("Action", exact=True)).to_be_visible()

    expect(page.locator("#id_country")).to_have_count(0)  # not built yet
    page.get_by_text("Filters", exact=True).click()
    country = page.locator("#id_country")
    expect(country).to_be_visible()
    expect(page.locator("#id_tag")).to_contain_text("newsletter")
    country.fill("AT")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Country: AT")).to_be_visible()
    expect(page.get_by_role("cell", name="bob@example.org")).to_be_visible()
    expect(page.get_by_role("cell", name="ada@example.org")).to_have_count(0)
    # Empty fields stay out of the URL; a search keeps the filters it narrows.
    assert "country=AT" in page.url and "spent_min" not in page.url, page.url
    page.locator("#id_q").fill("bob")
    page.locator("#id_q").press("Enter")
    page.wait_for_load_state()
    assert "country=AT" in page.url and "q=bob" in page.url, page.url
    expect(page.get_by_text("Country: AT")).to_be_visible()
    # The head's box selects every row of the page.
    page.get_by_label("Select all on this page").check()
    expect(
        page.get_by_role("row").filter(has_text="bob@example.org").get_by_role("checkbox")
    ).to_be_checked()


def test_without_javascript_the_filter_link_shows_the_fields(browser, live_server, password):
    owner = seed()
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Email").fill(owner.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live_server.url}/store/list-shop/customers/?country=DE")
        page.get_by_text("Filters", exact=True).click()
        page.get_by_role("link", name="Filter customers").click()
        expect(page.locator("#id_country")).to_have_value("DE")
        page.get_by_text("Bulk actions", exact=True).click()
        expect(page.get_by_label("Action", exact=True)).to_be_visible()
    finally:
        context.close()


def test_filters_saved_as_a_segment_open_again_from_the_segments_page(page, sign_in, password):
    owner = seed()
    base = sign_in(owner.email, password)
    page.goto(f"{base}/store/list-shop/customers/?country=AT")

    page.get_by_text("Save these filters as a segment").click()
    page.get_by_label("Segment name").fill("Austrians")
    page.get_by_role("button", name="Save as segment").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Segment “Austrians” saved.")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Segments").click()
    row = page.get_by_role("row").filter(has_text="Austrians")
    expect(row.get_by_role("cell").nth(1)).to_have_text("1")
    row.get_by_role("link", name="Austrians").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Country: AT")).to_be_visible()
    expect(page.get_by_role("cell", name="bob@example.org")).to_be_visible()
    expect(page.get_by_role("cell", name="ada@example.org")).to_have_count(0)


def test_searching_a_phone_number_and_a_tag_name(page, sign_in, password):
    owner = seed()
    with scopes_disabled():
        from customers.models import Customer, CustomerTag, TaggedCustomer
        from storefront_crm.models import Store

        store = Store.objects.get(slug="list-shop")
        CustomerFactory(store=store, email="cleo@example.org", phone="+49 (0)170 555-0101")
        tag = CustomerTag.objects.get(store=store, name="newsletter")
        bob = Customer.objects.get(store=store, email="bob@example.org")
        TaggedCustomer.objects.create(store=store, content_object=bob, tag=tag)
    base = sign_in(owner.email, password)
    page.goto(f"{base}/store/list-shop/customers/")

    search = page.get_by_placeholder("Search by name, email or phone")
    search.fill("0170 5550101")
    search.press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_role("cell", name="cleo@example.org")).to_be_visible()
    expect(page.get_by_role("cell", name="ada@example.org")).to_have_count(0)

    # A tag's name finds no customer by name, and offers the tag's customers instead.
    page.locator("#id_q").fill("Newsletter")
    page.locator("#id_q").press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_text("No customers match these filters.")).to_be_visible()
    page.locator(".search-tags").get_by_role("link", name="newsletter").click()
    page.wait_for_load_state()
    expect(page.get_by_role("cell", name="bob@example.org")).to_be_visible()
    expect(page.get_by_role("cell", name="cleo@example.org")).to_have_count(0)
    assert "q=" not in page.url and f"tag={tag.pk}" in page.url, page.url
