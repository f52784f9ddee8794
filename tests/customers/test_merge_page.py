"""The merge page and what a merge leaves behind: refusals shown before Merge,
the account rows and the registered survivor's group, custom fields as the profile shows
them, merging with itself, the page of a removed profile, the store's activity, plural
forms and the compare table on a phone."""

import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from customers.models import AccountType, Customer, CustomerGroup, GroupKind
from customers.services.accounts import shopper_identity_get_or_create
from customers.services.customers import customer_delete
from customers.services.merge import (
    MERGED_AWAY,
    MergeRefused,
    customer_merge,
    customer_removed_event,
    duplicates_job_run,
    merge_refusals,
)
from orders.services import ItemInput, order_create
from storefront_crm.tenancy import store_scope
from tests.factories import CustomerFactory, CustomerGroupFactory, CustomFieldFactory

pytestmark = pytest.mark.django_db


def merge_url(store, survivor, duplicate) -> str:
    return reverse("panel:customer_merge", args=[store.slug, survivor.pk, duplicate.pk])


def place(store, customer, total="10.00"):
    return order_create(
        store=store,
        email=customer.email,
        customer=customer,
        items=[ItemInput(name="Thing", unit_price=Decimal(total))],
    )


def merge_button(html: str) -> str:
    match = re.search(r"<button type=\"submit\"[^>]*>Merge</button>", html)
    assert match, "no Merge button"
    return match.group(0)


# --- 1. Every refusal a choice cannot fix shows before Merge -----------------------------


def test_two_logins_are_refused_on_the_compare_page_and_merge_is_disabled(owner_client, store):
    survivor = CustomerFactory(store=store)
    duplicate = CustomerFactory(store=store)
    shopper_identity_get_or_create(store=store, customer=survivor)
    shopper_identity_get_or_create(store=store, customer=duplicate)

    html = owner_client.get(merge_url(store, survivor, duplicate)).content.decode()

    assert "Both profiles have a storefront login" in html
    assert "disabled" in merge_button(html)


def test_a_refused_merge_posted_anyway_changes_nothing(owner_client, store):
    survivor = CustomerFactory(store=store)
    duplicate = CustomerFactory(store=store)
    shopper_identity_get_or_create(store=store, customer=survivor)
    shopper_identity_get_or_create(store=store, customer=duplicate)

    response = owner_client.post(merge_url(store, survivor, duplicate), {})

    assert response.status_code == 400
    assert "Both profiles have a storefront login" in response.content.decode()
    assert Customer.objects.filter(pk=duplicate.pk).exists()


def test_a_choice_the_merchant_can_make_does_not_disable_merge(owner_client, store):
    survivor = CustomerFactory(store=store, vat_id="DE111")
    duplicate = CustomerFactory(store=store, vat_id="DE222")

    html = owner_client.get(merge_url(store, survivor, duplicate)).content.decode()

    assert "disabled" not in merge_button(html)
    assert "Two different VAT IDs: choose the one to keep." in html
    assert "cannot be merged" not in html


def test_one_function_lists_every_refusal_and_the_merge_raises_them(store, owner):
    survivor = CustomerFactory(store=store, vat_id="DE111")
    duplicate = CustomerFactory(store=store, vat_id="DE222")
    shopper_identity_get_or_create(store=store, customer=survivor)
    shopper_identity_get_or_create(store=store, customer=duplicate)

    before_choosing = merge_refusals(store=store, survivor=survivor, duplicate=duplicate)
    nothing_chosen = merge_refusals(store=store, survivor=survivor, duplicate=duplicate, choices={})
    vat_chosen = merge_refusals(
        store=store, survivor=survivor, duplicate=duplicate, choices={"vat_id": "survivor"}
    )

    assert [error.field for error in before_choosing] == [None]  # the logins only
    assert [error.field for error in nothing_chosen] == ["vat_id", None]
    assert [error.message for error in vat_chosen] == [before_choosing[0].message]
    with pytest.raises(MergeRefused, match="storefront login"):
        customer_merge(
            store=store,
            actor=owner,
            survivor=survivor,
            duplicate=duplicate,
            choices={"vat_id": "survivor"},
        )


# --- 2. Account rows; a registered survivor leaves the Guests group ----------------------


def test_the_compare_page_shows_account_email_confirmed_and_login(owner_client, store):
    survivor = CustomerFactory(store=store, account_type=AccountType.GUEST)
    duplicate = CustomerFactory(
        store=store, account_type=AccountType.REGISTERED, email_confirmed=True
    )
    shopper_identity_get_or_create(store=store, customer=duplicate)

    response = owner_client.get(merge_url(store, survivor, duplicate))
    html = response.content.decode()

    rows = {row["label"]: row for row in response.context["account_rows"]}
    assert rows["Account"]["survivor_display"] == "Guest"
    assert rows["Account"]["duplicate_display"] == "Registered"
    assert rows["Account"]["result"] == "Registered"
    assert rows["Email confirmed"]["duplicate_display"] == "Yes"
    assert rows["Storefront login"]["survivor_display"] == "No"
    assert rows["Storefront login"]["result"] == "Moves to the kept profile"
    for label in ("Account", "Email confirmed", "Storefront login"):
        assert f'<th scope="row">{label}<br>' in html


def test_a_registered_result_leaves_the_guests_group_for_standard(store, owner):
    guests = CustomerGroup.objects.get(store=store, kind=GroupKind.GUESTS)
    standard = CustomerGroup.objects.get(store=store, kind=GroupKind.STANDARD)
    survivor = CustomerFactory(store=store, account_type=AccountType.GUEST, group=guests)
    duplicate = CustomerFactory(store=store, account_type=AccountType.REGISTERED, group=standard)

    merged = customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    merged.refresh_from_db()
    assert merged.account_type == AccountType.REGISTERED
    assert merged.group == standard


def test_a_registered_result_keeps_a_custom_group(store, owner):
    wholesale = CustomerGroupFactory(store=store, name="Wholesale")
    survivor = CustomerFactory(store=store, account_type=AccountType.GUEST, group=wholesale)
    duplicate = CustomerFactory(store=store, account_type=AccountType.REGISTERED)

    merged = customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    merged.refresh_from_db()
    assert merged.group == wholesale


def test_two_guests_stay_in_the_guests_group(store, owner):
    survivor = CustomerFactory(store=store)
    duplicate = CustomerFactory(store=store)

    merged = customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    merged.refresh_from_db()
    assert merged.account_type == AccountType.GUEST
    assert merged.group.kind == GroupKind.GUESTS


# --- 3. Custom fields as the profile shows them, in the store's order --------------------


def test_custom_fields_are_formatted_and_ordered_like_the_profile(owner_client, store):
    CustomFieldFactory(store=store, key="zodiac", label="Zodiac", position=0)
    CustomFieldFactory(store=store, key="birthday", label="Birthday", field_type="date", position=1)
    CustomFieldFactory(
        store=store, key="newsletter", label="Letter", field_type="boolean", position=2
    )
    survivor = CustomerFactory(
        store=store, custom_fields={"birthday": "1990-05-01", "zodiac": "Taurus"}
    )
    duplicate = CustomerFactory(
        store=store, custom_fields={"birthday": "1990-05-02", "newsletter": True, "old": "x"}
    )

    response = owner_client.get(merge_url(store, survivor, duplicate))

    rows = [row for row, _ in response.context["rows"] if row["key"].startswith("cf:")]
    assert [row["key"] for row in rows] == ["cf:zodiac", "cf:birthday", "cf:newsletter", "cf:old"]
    birthday = rows[1]
    assert birthday["survivor_display"] == "05/01/1990"
    assert birthday["duplicate_display"] == "05/02/1990"
    assert rows[2]["duplicate_display"] == "Yes" and rows[2]["survivor_display"] == "—"
    html = response.content.decode()
    assert "05/01/1990" in html and "1990-05-01" not in html
    # the profile shows the same text
    profile = owner_client.get(reverse("panel:customer", args=[store.slug, survivor.pk]))
    assert "05/01/1990" in profile.content.decode()


# --- 4. Merging a profile with itself --------------------------------------------------------


@pytest.mark.parametrize("by", ["email", "id"])
def test_picking_the_profile_itself_says_so(owner_client, store, by):
    customer = CustomerFactory(store=store, email="jane@example.org")
    other = customer.email.upper() if by == "email" else str(customer.pk)

    response = owner_client.get(
        reverse("panel:customer_merge_pick", args=[store.slug, customer.pk]), {"other": other}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "A profile cannot be merged with itself." in html
    assert "No other customer" not in html


def test_picking_an_unknown_profile_still_says_no_other_customer(owner_client, store):
    customer = CustomerFactory(store=store)

    response = owner_client.get(
        reverse("panel:customer_merge_pick", args=[store.slug, customer.pk]),
        {"other": "nobody@example.org"},
    )

    assert "No other customer of this store has that email or number." in (
        response.content.decode()
    )


# --- 5. Back to a removed profile --------------------------------------------------------------


def test_back_to_the_compare_page_after_a_merge_says_where_it_went(owner_client, store):
    survivor = CustomerFactory(store=store, first_name="Jane", last_name="Doe")
    duplicate = CustomerFactory(store=store, email="dup@example.org")
    url = merge_url(store, survivor, duplicate)
    assert owner_client.post(url, {}).status_code == 302

    response = owner_client.get(url)

    html = response.content.decode()
    assert response.status_code == 410
    assert "dup@example.org was merged into" in html
    assert reverse("panel:customer", args=[store.slug, survivor.pk]) in html
    assert "Jane Doe" in html


def test_the_removed_profiles_url_says_it_was_merged(owner_client, store, owner, settings):
    survivor = CustomerFactory(store=store, email="keep@example.org")
    duplicate = CustomerFactory(store=store, email="dup@example.org")
    customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    response = owner_client.get(reverse("panel:customer", args=[store.slug, duplicate.pk]))

    html = response.content.decode()
    assert response.status_code == 410
    assert "was merged into" in html
    assert f'href="{reverse("panel:customer", args=[store.slug, survivor.pk])}"' in html


def test_the_deleted_profiles_url_says_it_was_deleted(owner_client, store, owner, settings):
    customer = CustomerFactory(store=store)
    customer_id = customer.pk
    customer_delete(store=store, customer=customer, actor=owner)

    response = owner_client.get(reverse("panel:customer", args=[store.slug, customer_id]))

    assert response.status_code == 410
    assert "This customer profile was deleted" in response.content.decode()


def test_an_id_the_store_never_had_stays_a_plain_404(owner_client, store, other_store, settings):
    with store_scope(other_store):  # removed in another store: nothing to say here
        theirs = CustomerFactory(store=other_store)
        theirs_id = theirs.pk
        customer_delete(store=other_store, customer=theirs)

    for customer_id in (theirs_id, 999_999):
        response = owner_client.get(reverse("panel:customer", args=[store.slug, customer_id]))
        assert response.status_code == 404


def test_without_the_middleware_a_removed_profile_is_still_a_404(
    owner_client, store, owner, settings
):
    settings.MIDDLEWARE = [
        name
        for name in settings.MIDDLEWARE
        if name != "customers.views.merge.CustomerGoneMiddleware"
    ]
    customer = CustomerFactory(store=store)
    customer_id = customer.pk
    customer_delete(store=store, customer=customer, actor=owner)

    response = owner_client.get(reverse("panel:customer", args=[store.slug, customer_id]))

    assert response.status_code == 404


def test_the_removed_event_is_found_by_the_removed_id(store, owner):
    survivor = CustomerFactory(store=store)
    duplicate = CustomerFactory(store=store)
    customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    event = customer_removed_event(store=store, customer_id=duplicate.pk)

    assert event.verb == MERGED_AWAY and event.customer is None
    assert event.data["merged_into"]["id"] == survivor.pk
    assert customer_removed_event(store=store, customer_id=survivor.pk) is None


# --- 6. The store's activity lists profiles removed by a merge -------------------------------


def test_the_store_activity_lists_a_merged_away_profile(owner_client, store, owner):
    survivor = CustomerFactory(store=store, email="keep@example.org")
    duplicate = CustomerFactory(store=store, email="dup@example.org")
    place(store, duplicate)
    customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    html = owner_client.get(reverse("panel:store_activity", args=[store.slug])).content.decode()

    assert "Merged the customer dup@example.org into keep@example.org (1 order moved)" in html


# --- 7. Plural forms --------------------------------------------------------------------------


@pytest.mark.parametrize(("orders", "text"), [(1, "(1 order moved)"), (2, "(2 orders moved)")])
def test_the_merge_message_counts_orders_in_the_right_form(owner_client, store, orders, text):
    survivor = CustomerFactory(store=store)
    duplicate = CustomerFactory(store=store)
    for _ in range(orders):
        place(store, duplicate)

    response = owner_client.post(merge_url(store, survivor, duplicate), {})

    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"{duplicate.email} merged into this profile {text}."
    ]


def test_the_duplicate_search_counts_groups_in_the_right_form(store):
    CustomerFactory(store=store, email="ann@example.org")
    CustomerFactory(store=store, email="a.n.n@example.org")

    class Ctx:
        def __init__(self) -> None:
            self.store = store

        def save_result(self, name, content) -> None:
            pass

        def progress(self, *args, **kwargs) -> None:
            pass

    assert duplicates_job_run(Ctx()) == "1 group of possible duplicates found."


# --- 8. The compare table scrolls by itself on a phone ----------------------------------------


def test_the_compare_table_is_in_a_horizontally_scrolling_container(owner_client, store):
    survivor = CustomerFactory(store=store)
    duplicate = CustomerFactory(store=store)

    html = owner_client.get(merge_url(store, survivor, duplicate)).content.decode()

    assert re.search(r'<div class="table-scroll"[^>]*>\s*<table>', html)
    assert re.search(r"</table>\s*</div>", html)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_table_scrolls_and_the_page_does_not(page, sign_in, password):
    from django_scopes import scopes_disabled

    from tests.factories import MembershipFactory, StoreFactory

    with scopes_disabled():
        shop = StoreFactory(slug="merge-phone", name="Merge Phone")
        owner = MembershipFactory(store=shop, role="owner").user
        survivor = CustomerFactory(store=shop, email="jane.with.a.long.address@example.org")
        duplicate = CustomerFactory(store=shop, email="jane.doe+newsletter@example.org")

    base = sign_in(owner.email, password)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}{merge_url(shop, survivor, duplicate)}")

    sizes = page.evaluate(
        """() => {
        const box = document.querySelector('.table-scroll');
        const main = document.querySelector('main');
        return {box: box.clientWidth, table: box.scrollWidth,
                main: main.clientWidth, mainScroll: main.scrollWidth,
                page: document.documentElement.scrollWidth};
    }"""
    )
    assert sizes["table"] > sizes["box"]  # the table is wider than a phone: it scrolls
    assert sizes["mainScroll"] <= sizes["main"] + 1  # ... inside its box, not the page
    assert sizes["page"] <= 391
