import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests.factories import MembershipFactory, StoreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_signs_in_and_sees_the_panel_shell(page, sign_in, password):
    with scopes_disabled():
        store = StoreFactory(slug="shell", name="Shell Shop")
        owner = MembershipFactory(store=store, role="owner").user
    base = sign_in(owner.email, password)
    assert page.url == f"{base}/store/shell/"
    nav = page.get_by_role("navigation", name="Main")
    for label in [
        "Customers",
        "Orders",
        "Abandoned carts",
        "Invoices",
        "Segments",
        "Reports",
        "Settings",
    ]:
        assert nav.get_by_role("link", name=label).is_visible()
    nav.get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    expect(page.get_by_text("No customers yet.")).to_be_visible()
