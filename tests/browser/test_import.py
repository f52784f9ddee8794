"""Upload a Shopify file in the browser, see the preview, confirm, see the summary."""

from pathlib import Path

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from customers.models import Customer
from tests.factories import MembershipFactory, StoreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).parent.parent / "customers" / "samples" / "shopify_current.csv"


def test_upload_preview_confirm(page, sign_in, password):
    with scopes_disabled():
        store = StoreFactory(slug="moving", name="Moving Shop")
        owner = MembershipFactory(store=store, role="owner").user
    sign_in(owner.email, password)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import / Export").click()
    expect(page.get_by_role("heading", name="Import and export customers")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(str(SAMPLE))
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("heading", name="Import preview")).to_be_visible()
    expect(page.locator('[data-count="created"]')).to_have_text("2")
    with scopes_disabled():
        assert Customer.objects.count() == 0
    expect(page.get_by_label("Format")).to_have_value("shopify")
    page.get_by_role("button", name="Import now").click()

    expect(page.get_by_text("Import started.")).to_be_visible()
    expect(page.locator('[data-count="created"]')).to_have_text("2")
    with scopes_disabled():
        assert Customer.objects.filter(store=store).count() == 2
