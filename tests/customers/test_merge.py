"""Merging duplicate profiles, its refusals and failure path, and the duplicate finder."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from sesame.utils import get_query_string, get_token, get_user

from customers.models import (
    ActivityEvent,
    Address,
    AddressKind,
    Customer,
    CustomerNote,
    TaggedCustomer,
)
from customers.services.accounts import shop_scope, shopper_identity_get_or_create
from customers.services.merge import MergeRefused, customer_merge, duplicate_groups_find
from customers.services.tags import customer_tags_add
from orders.models import Order, OrderStatus
from orders.services import ItemInput, order_create
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    CustomerGroupFactory,
    CustomerNoteFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db


def place(store, customer, total, **kwargs):
    return order_create(
        store=store,
        email=customer.email,
        customer=customer,
        items=[ItemInput(name="Thing", unit_price=Decimal(total))],
        **kwargs,
    )


@pytest.fixture
def pair(store):
    old = timezone.now() - datetime.timedelta(days=400)
    survivor = CustomerFactory(
        store=store,
        email="jane@example.org",
        first_name="Jane",
        phone="",
        customer_since=timezone.now() - datetime.timedelta(days=10),
        accepts_marketing=False,
        marketing_consent_at=timezone.now() - datetime.timedelta(days=100),
        custom_fields={"shoe": 38},
    )
    duplicate = CustomerFactory(
        store=store,
        email="jane.doe+shop@example.org",
        first_name="Janet",
        phone="0301234",
        customer_since=old,
        accepts_marketing=True,
        marketing_consent_at=timezone.now() - datetime.timedelta(days=1),
        custom_fields={"shoe": 39, "nick": "JD"},
    )
    return survivor, duplicate


def test_merge_moves_everything_and_deletes_the_duplicate(store, owner, pair):
    survivor, duplicate = pair
    place(store, survivor, "10.00")
    place(store, duplicate, "30.00")
    place(store, duplicate, "99.00", status=OrderStatus.CANCELLED)
    CustomerNoteFactory(store=store, customer=duplicate, body="From the duplicate")
    customer_tags_add(store=store, customer=survivor, names=["vip"])
    customer_tags_add(store=store, customer=duplicate, names=["VIP", "wholesale"])
    AddressFactory(store=store, customer=survivor, kind=AddressKind.SHIPPING, is_default=True)
    AddressFactory(store=store, customer=duplicate, kind=AddressKind.SHIPPING, is_default=True)
    AddressFactory(store=store, customer=duplicate, kind=AddressKind.BILLING, is_default=True)

    merged = customer_merge(
        store=store,
        actor=owner,
        survivor=survivor,
        duplicate=duplicate,
        choices={"first_name": "duplicate", "cf:shoe": "duplicate"},
    )

    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    assert Order.objects.filter(customer=merged).count() == 3
    # the cancelled order moved too but does not count
    assert merged.orders_count == 2 and merged.total_spent == Decimal("40.00")
    assert CustomerNote.objects.get(customer=merged).body == "From the duplicate"
    assert sorted(merged.tags.names()) == ["vip", "wholesale"]
    assert TaggedCustomer.objects.filter(content_object=merged).count() == 2
    defaults = Address.objects.filter(customer=merged, is_default=True)
    assert sorted(defaults.values_list("kind", flat=True)) == ["billing", "shipping"]
    assert Address.objects.filter(customer=merged).count() == 3
    merged.refresh_from_db()
    assert merged.email == "jane@example.org"  # the survivor's value by default
    assert merged.first_name == "Janet"  # chosen
    assert merged.phone == "0301234"  # the survivor had none
    assert merged.custom_fields == {"shoe": 39, "nick": "JD"}
    assert merged.accepts_marketing  # the newest consent decision wins
    assert merged.customer_since == duplicate.customer_since  # the earlier date
    event = ActivityEvent.objects.get(customer=merged, verb="customer.merged")
    assert event.actor == owner and event.data["duplicate"]["email"] == duplicate.email
    # the duplicate's own history came along
    assert ActivityEvent.objects.filter(customer=merged, data__order__isnull=False).count() == 3


def test_a_failure_mid_merge_leaves_both_profiles_untouched(store, owner, pair, monkeypatch):
    survivor, duplicate = pair
    place(store, duplicate, "30.00")
    CustomerNoteFactory(store=store, customer=duplicate)
    customer_tags_add(store=store, customer=duplicate, names=["wholesale"])

    def explode(**kwargs):
        raise RuntimeError("database went away after the orders moved")

    monkeypatch.setattr("orders.services.customer_stats_recompute", explode)

    with pytest.raises(RuntimeError):
        customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    assert Customer.objects.filter(pk=duplicate.pk).exists()
    assert Order.objects.get().customer_id == duplicate.pk
    assert CustomerNote.objects.get().customer_id == duplicate.pk
    assert list(Customer.objects.get(pk=duplicate.pk).tags.names()) == ["wholesale"]
    assert not ActivityEvent.objects.filter(verb="customer.merged").exists()
    survivor.refresh_from_db()
    assert survivor.orders_count == 0 and survivor.first_name == "Jane"


def test_two_different_vat_ids_need_a_choice(store, owner):
    survivor = CustomerFactory(store=store, vat_id="DE111")
    duplicate = CustomerFactory(store=store, vat_id="DE 222")
    place(store, duplicate, "5.00")

    with pytest.raises(MergeRefused) as error:
        customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    assert error.value.field == "vat_id"
    assert Order.objects.get().customer_id == duplicate.pk
    merged = customer_merge(
        store=store,
        actor=owner,
        survivor=survivor,
        duplicate=duplicate,
        choices={"vat_id": "duplicate"},
    )
    assert merged.vat_id == "DE 222"


def test_the_same_vat_id_written_differently_needs_no_choice(store, owner):
    survivor = CustomerFactory(store=store, vat_id="DE111")
    duplicate = CustomerFactory(store=store, vat_id="de 111")

    merged = customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    assert merged.vat_id == "DE111"


def test_two_storefront_logins_are_refused(store, owner, pair):
    survivor, duplicate = pair
    shopper_identity_get_or_create(store=store, customer=survivor)
    shopper_identity_get_or_create(store=store, customer=duplicate)

    with pytest.raises(MergeRefused):
        customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    assert Customer.objects.filter(pk=duplicate.pk).exists()


def test_the_one_storefront_login_follows_the_surviving_email(store, owner, pair):
    survivor, duplicate = pair
    login = shopper_identity_get_or_create(store=store, customer=duplicate)
    old_link = get_query_string(login, scope=shop_scope(store))

    merged = customer_merge(store=store, actor=owner, survivor=survivor, duplicate=duplicate)

    login.refresh_from_db()
    assert merged.user == login
    assert login.email == "jane@example.org" and login.store == store
    # a link sent to the duplicate's address no longer signs anybody in
    token = old_link.removeprefix("?sesame=")
    assert get_user(token, scope=shop_scope(store)) is None
    assert get_user(get_token(login, scope=shop_scope(store)), scope=shop_scope(store)) == login


def test_profiles_of_two_stores_cannot_be_merged(store, other_store, owner, unscoped):
    mine = CustomerFactory(store=store)
    theirs = CustomerFactory(store=other_store)

    with pytest.raises(MergeRefused):
        customer_merge(store=store, actor=owner, survivor=mine, duplicate=theirs)

    assert Customer.objects.filter(pk=theirs.pk).exists()


def test_a_profile_cannot_merge_with_itself(store, owner):
    customer = CustomerFactory(store=store)

    with pytest.raises(MergeRefused):
        customer_merge(store=store, actor=owner, survivor=customer, duplicate=customer)


# --- Through the pages ----------------------------------------------------------------------


def test_the_merge_page_shows_both_sides_and_merges(owner_client, store, pair):
    survivor, duplicate = pair
    group = CustomerGroupFactory(store=store, name="Wholesale")
    Customer.objects.filter(pk=duplicate.pk).update(group=group)
    url = reverse("panel:customer_merge", args=[store.slug, survivor.pk, duplicate.pk])

    page = owner_client.get(url).content.decode()
    assert "jane@example.org" in page and "jane.doe+shop@example.org" in page
    assert 'name="choice_first_name"' in page and 'name="choice_group"' in page

    response = owner_client.post(
        url, {"choice_group": "duplicate", "choice_first_name": "survivor"}
    )

    assert response.status_code == 302
    survivor.refresh_from_db()
    assert survivor.group == group and survivor.first_name == "Jane"
    assert not Customer.objects.filter(pk=duplicate.pk).exists()


def test_the_merge_page_shows_the_reason_it_refuses(owner_client, store):
    survivor = CustomerFactory(store=store, vat_id="DE111")
    duplicate = CustomerFactory(store=store, vat_id="DE222")
    url = reverse("panel:customer_merge", args=[store.slug, survivor.pk, duplicate.pk])

    response = owner_client.post(url, {})

    assert response.status_code == 400
    assert "different VAT IDs" in response.content.decode()
    assert Customer.objects.filter(pk=duplicate.pk).exists()


def test_pick_the_other_profile_by_email(owner_client, store, pair):
    survivor, duplicate = pair
    url = reverse("panel:customer_merge_pick", args=[store.slug, survivor.pk])

    response = owner_client.get(url, {"other": "JANE.DOE+shop@example.org"})

    assert response["Location"] == reverse(
        "panel:customer_merge", args=[store.slug, survivor.pk, duplicate.pk]
    )


def test_a_merge_in_another_store_is_a_404(client, store, other_store, unscoped):
    mine = CustomerFactory(store=store)
    theirs = CustomerFactory(store=other_store)
    client.force_login(MembershipFactory(store=store, role="owner").user)

    url = reverse("panel:customer_merge", args=[store.slug, mine.pk, theirs.pk])

    assert client.post(url).status_code == 404
    assert Customer.objects.filter(pk=theirs.pk).exists()


# --- Possible duplicates -------------------------------------------------------------------


def test_duplicates_by_email_dots_and_plus_tags(store):
    a = CustomerFactory(store=store, email="jane.doe@example.org", phone="")
    b = CustomerFactory(store=store, email="janedoe+news@example.org", phone="")
    c = CustomerFactory(store=store, email="j.a.n.e.d.o.e@example.org", phone="")
    CustomerFactory(store=store, email="janedoe@other.org", phone="")
    CustomerFactory(store=store, email="jane@example.org", phone="")

    groups = duplicate_groups_find(store=store)

    assert len(groups) == 1
    assert {customer.pk for customer in groups[0].customers} == {a.pk, b.pk, c.pk}
    assert groups[0].key == "janedoe@example.org"


def test_duplicates_by_name_and_phone_then_by_phone(store):
    a = CustomerFactory(store=store, first_name="Max", last_name="Weber", phone="030 123-45")
    b = CustomerFactory(store=store, first_name="max", last_name="WEBER", phone="03012345")
    c = CustomerFactory(store=store, first_name="Erika", last_name="Muster", phone="0401")
    d = CustomerFactory(store=store, first_name="Hans", last_name="Muster", phone="(040) 1")
    CustomerFactory(store=store, first_name="Max", last_name="Weber", phone="")

    groups = {
        frozenset(c.pk for c in g.customers): g.reason for g in duplicate_groups_find(store=store)
    }

    assert groups[frozenset({a.pk, b.pk})] == "Same name and phone"
    assert groups[frozenset({c.pk, d.pk})] == "Same phone"
    assert len(groups) == 2


def test_duplicates_stay_in_their_store(store, other_store, unscoped):
    CustomerFactory(store=store, email="ann@example.org")
    CustomerFactory(store=other_store, email="a.n.n@example.org")

    assert duplicate_groups_find(store=store) == []


def test_the_duplicates_page_links_to_the_merge(owner_client, store):
    a = CustomerFactory(store=store, email="ann@example.org")
    b = CustomerFactory(store=store, email="a.n.n@example.org")

    page = owner_client.get(reverse("panel:customer_duplicates", args=[store.slug]))

    first, second = sorted([a, b], key=lambda c: (c.customer_since, c.pk))
    merge_url = reverse("panel:customer_merge", args=[store.slug, first.pk, second.pk])
    assert merge_url in page.content.decode()


def test_the_merge_page_preselects_a_value_only_the_duplicate_has(owner_client, store, pair):
    survivor, duplicate = pair  # the survivor has no phone, the duplicate has one
    url = reverse("panel:customer_merge", args=[store.slug, survivor.pk, duplicate.pk])

    form = owner_client.get(url).context["form"]

    assert form["choice_phone"].initial == "duplicate"
    assert form["choice_first_name"].initial == "survivor"


@pytest.mark.django_db
def test_a_big_store_searches_duplicates_in_a_job_and_shows_the_latest_result(
    owner_client, store, monkeypatch, django_capture_on_commit_callbacks
):
    from customers.services import merge as merge_services

    monkeypatch.setattr("customers.views.merge.DUPLICATES_INLINE_LIMIT", 0)
    first = CustomerFactory(store=store, email="jane.doe@example.org")
    second = CustomerFactory(store=store, email="janedoe+shop@example.org")
    url = f"/store/{store.slug}/customers/duplicates/"
    page = owner_client.get(url)
    assert b"Search the store for duplicates" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.post(url).status_code == 302
    job, groups = merge_services.duplicate_groups_latest(store=store)
    assert job.status == "succeeded"
    assert [{c.pk for c in g.customers} for g in groups] == [{first.pk, second.pk}]
    page = owner_client.get(url)
    assert b"janedoe+shop@example.org" in page.content
    assert b"Search again" in page.content
