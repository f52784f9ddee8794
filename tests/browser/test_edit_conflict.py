"""In the browser: two members edit one customer; the second save shows the review and
saving it keeps the second member's entry (both pages under the CSP violation watch)."""

import pytest
from django_scopes import scopes_disabled

from customers.models import Customer
from tests.conftest import watch_csp_violations
from tests.factories import CustomerFactory, MembershipFactory, StoreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_later_of_two_edits_is_reviewed_before_it_saves(
    page, sign_in, password, browser, live_server
):
    with scopes_disabled():
        store = StoreFactory(slug="conflict-shop", name="Conflict Shop")
        first_member = MembershipFactory(store=store, role="owner").user
        second_member = MembershipFactory(store=store, role="manager").user
        customer = CustomerFactory(store=store, first_name="Anna", company="Berg AG")
    edit_url = f"{live_server.url}/store/conflict-shop/customers/{customer.pk}/edit/"

    # given the second member's form is open, then the first member saves a new company
    base = sign_in(second_member.email, password)
    page.goto(edit_url)
    colleague = browser.new_context()
    colleague_violations = watch_csp_violations(colleague)
    other = colleague.new_page()
    other.goto(f"{base}/login/")
    other.get_by_label("Email").fill(first_member.email)
    other.get_by_label("Password").fill(password)
    other.get_by_role("button", name="Sign in").click()
    other.wait_for_load_state()
    other.goto(edit_url)
    other.get_by_label("Company").fill("Berg GmbH")
    other.get_by_role("button", name="Save").click()
    other.wait_for_load_state()
    colleague.close()
    assert colleague_violations == []

    # when the second member saves a new first name
    page.get_by_label("First name").fill("Anne")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()

    # then the review names both fields, and nothing of theirs is saved yet
    review = page.locator("#edit-conflict")
    assert review.is_visible()
    assert review.get_by_role("row", name="Company Berg GmbH Berg AG").is_visible()
    assert review.get_by_role("row", name="First name Anna Anne").is_visible()
    with scopes_disabled():
        assert Customer.objects.get(pk=customer.pk).first_name == "Anna"

    # when they save their entry deliberately, it is saved
    page.get_by_role("button", name="Save my entry").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Anne").first.is_visible()
    with scopes_disabled():
        saved = Customer.objects.get(pk=customer.pk)
    assert (saved.first_name, saved.company) == ("Anne", "Berg AG")
