"""``manage.py seed_demo``: the demo store through the services (repeatable), and the bulk
seed of a big store (COPY on PostgreSQL, bulk_create elsewhere) keeping every rule."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, F
from django_scopes import scopes_disabled

from customers.models import (
    Address,
    Customer,
    CustomerGroup,
    CustomerNote,
    CustomerTag,
    CustomField,
    TaggedCustomer,
)
from orders import demo
from orders.models import Order, OrderItem, OrderSequence, Product
from orders.services import customer_stats_recompute_store
from storefront_crm.models import Membership, Store
from storefront_crm.tenancy import store_scope

AGGREGATES = ("pk", "orders_count", "total_spent", "first_order_at", "last_order_at")
STORE_OWNED = (Customer, Address, TaggedCustomer, CustomerNote, Order, OrderItem)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def aggregates_match_recompute(store: Store) -> bool:
    with store_scope(store):
        seeded = set(Customer.objects.filter(store=store).values_list(*AGGREGATES))
        customer_stats_recompute_store(store=store)
        recomputed = set(Customer.objects.filter(store=store).values_list(*AGGREGATES))
    return seeded == recomputed


def numbers_follow_placed_times(store: Store, expected: int) -> bool:
    with store_scope(store):
        rows = list(
            Order.objects.filter(store=store).order_by("number").values_list("number", "placed_at")
        )
        sequence = OrderSequence.objects.get(store=store).last_number
    numbers = [number for number, _placed in rows]
    times = [placed for _number, placed in rows]
    return (
        numbers == list(range(1, expected + 1)) and sequence == expected and times == sorted(times)
    )


def row_counts(store: Store) -> dict[str, int]:
    with store_scope(store):
        models = (*STORE_OWNED, CustomerGroup, CustomerTag, CustomField, Product)
        counts = {model.__name__: model.objects.filter(store=store).count() for model in models}
    counts["memberships"] = Membership.objects.filter(store=store).count()
    return counts


@pytest.fixture
def small_demo(monkeypatch):
    """The demo plan at a sixth of its size: the same code paths, a fast test."""
    monkeypatch.setattr(demo, "DEMO_CUSTOMERS", 40)
    monkeypatch.setattr(demo, "DEMO_ORDERS", 120)
    monkeypatch.setattr(demo, "DEMO_WALK_IN_ORDERS", 8)


@pytest.mark.django_db
def test_demo_seed_creates_every_kind_of_data_and_a_second_run_adds_nothing(small_demo):
    output = seed()

    assert "/store/demo/" in output
    assert "owner@demo.example" in output and demo.DEMO_PASSWORD in output
    store = Store.objects.get(slug="demo")
    assert (store.name, store.currency) == ("Demo Shop", "EUR")
    roles = dict(Membership.objects.filter(store=store).values_list("user__email", "role"))
    assert roles == {
        "owner@demo.example": "owner",
        "manager@demo.example": "manager",
        "support@demo.example": "support",
    }
    owner = Membership.objects.get(store=store, role="owner").user
    assert owner.check_password(demo.DEMO_PASSWORD)
    with store_scope(store):
        groups = dict(CustomerGroup.objects.values_list("name", "discount_percent"))
        assert {"Guests", "Standard"} <= set(groups)
        assert (groups["VIP"], groups["Wholesale"]) == (10, 15)
        assert CustomerTag.objects.count() == 20
        assert CustomField.objects.count() == 3
        assert Product.objects.count() == 40
        assert Product.objects.exclude(supplier="").exclude(supplier_price=None).exists()
        customers = Customer.objects.all()
        assert customers.values("country").distinct().count() >= 5
        assert any(not name.isascii() for name in customers.values_list("last_name", flat=True))
        assert {"guest", "registered"} == set(customers.values_list("account_type", flat=True))
        assert customers.filter(accepts_marketing=True, marketing_consent_at__isnull=False).exists()
        assert customers.exclude(custom_fields={}).exists()
        assert customers.filter(source="order").exists()  # paid walk-in orders made profiles
        assert customers.exclude(group__kind__in=["guests", "standard"]).exists()
        assert Address.objects.filter(kind="shipping", is_default=True).exists()
        assert CustomerNote.objects.exclude(author=None).exists()
        assert TaggedCustomer.objects.exists()
        orders = Order.objects.all()
        assert orders.filter(customer=None).exists()  # unpaid guest orders without profile
        assert orders.filter(status__in=["cancelled", "rejected"]).exists()
        assert len(set(orders.values_list("payment_status", flat=True))) >= 3
        assert orders.filter(is_digital=True, fulfillment_status="not_required").exists()
        assert orders.exclude(shipping_method="").exclude(shipping_address={}).exists()
    assert aggregates_match_recompute(store)
    assert numbers_follow_placed_times(store, 120)
    first = row_counts(store)

    again = seed()

    assert "Customers: 0 created" in again and "Orders: 0 placed" in again
    assert row_counts(store) == first


@pytest.mark.django_db
def test_bulk_seed_keeps_every_rule_and_refuses_a_store_with_data():
    output = seed("--store", "big", "--customers", "300", "--orders", "900")

    method = "COPY" if connection.vendor == "postgresql" else "bulk_create"
    assert f"Writing with {method}." in output
    assert "/store/big/" in output and "owner@big.example" in output
    store = Store.objects.get(slug="big")
    assert aggregates_match_recompute(store)
    assert numbers_follow_placed_times(store, 900)
    with scopes_disabled():
        assert Customer.objects.filter(store=store).count() == 300
        assert Order.objects.filter(store=store).count() == 900
        for model in STORE_OWNED:
            assert model.objects.filter(store=store).exists(), model
        # Every child row carries the store of its parent, the tag through-table too.
        assert not TaggedCustomer.objects.exclude(store=F("content_object__store")).exists()
        assert not TaggedCustomer.objects.exclude(store=F("tag__store")).exists()
        assert not Address.objects.exclude(store=F("customer__store")).exists()
        assert not CustomerNote.objects.exclude(store=F("customer__store")).exists()
        assert not OrderItem.objects.exclude(store=F("order__store")).exists()
        assert not OrderItem.objects.exclude(store=F("product__store")).exists()
        assert not Order.objects.exclude(customer=None).exclude(store=F("customer__store")).exists()
        assert not Customer.objects.exclude(store=F("group__store")).exists()
        customers = Customer.objects.filter(store=store)
        emails = list(customers.values_list("email", flat=True))
        assert len(set(emails)) == 300 and all(email == email.lower() for email in emails)
        defaults = (
            Address.objects.filter(store=store, is_default=True)
            .values("customer", "kind")
            .annotate(n=Count("id"))
        )
        assert max(row["n"] for row in defaults) == 1
        assert customers.filter(orders_count=0).exists()
        assert customers.filter(orders_count__lte=3).count() > 150
        assert customers.filter(orders_count__gte=8).exists()
        joined = customers.exclude(first_order_at=None)
        assert not joined.filter(customer_since__gt=F("first_order_at")).exists()
        guest_orders = Order.objects.filter(store=store, customer=None)
        assert guest_orders.count() == 9
        assert not guest_orders.filter(payment_status="paid").exists()
        assert not Customer.objects.filter(
            store=store, email__in=guest_orders.values("email")
        ).exists()

    with pytest.raises(CommandError, match="--replace"):
        seed("--store", "big", "--customers", "300", "--orders", "900")

    seed("--store", "big", "--customers", "200", "--orders", "500", "--replace", "--seed", "7")

    assert aggregates_match_recompute(store)
    assert numbers_follow_placed_times(store, 500)
    with scopes_disabled():
        assert Customer.objects.filter(store=store).count() == 200


@pytest.mark.django_db
def test_bulk_seed_on_postgresql_copies_and_rebuilds_the_indexes(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("COPY and the index rebuild are PostgreSQL paths")
    monkeypatch.setattr(demo, "INDEX_REBUILD_FROM", 1)
    tables = [table.db_table for table in demo.BULK_TABLES]

    def indexes() -> set[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [tables]
            )
            return set(cursor.fetchall())

    before = indexes()

    output = seed("--store", "big", "--customers", "300", "--orders", "900")

    assert "Writing with COPY." in output
    assert re.search(r"rebuild indexes .* \d+ indexes", output)
    assert "check references" in output
    assert indexes() == before
    store = Store.objects.get(slug="big")
    assert aggregates_match_recompute(store)
    assert numbers_follow_placed_times(store, 900)


def test_plans_give_exactly_the_orders_asked_for():
    for customers, orders in ((1, 0), (7, 1), (5, 100), (300, 900), (12_345, 30_000)):
        plans = list(
            demo.customer_plans(customers=customers, orders=orders, seed=3, now=2_000_000_000)
        )
        assert sum(len(plan.order_times) for plan in plans) == orders
        assert all(list(plan.order_times) == sorted(plan.order_times) for plan in plans)
        assert all(plan.order_times[0] >= plan.since for plan in plans if plan.order_times)


def test_pools_go_into_copy_text_as_they_are_and_make_ascii_emails():
    texts = [text for row in demo.PRODUCTS for text in row] + list(demo.NOTE_BODIES)
    for country in demo.COUNTRIES:
        texts += [country.phone_prefix, country.company_suffix, *country.streets]
        texts += [text for place in country.places for text in place]
        for shown, ascii_form in country.first_names + country.last_names:
            texts.append(shown)
            assert re.fullmatch(r"[a-z]+", ascii_form), ascii_form
    assert not [text for text in texts if re.search(r"[\t\n\r\\]", text)]
