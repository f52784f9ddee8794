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
