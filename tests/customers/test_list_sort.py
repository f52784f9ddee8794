"""Sorting of the customer list, both directions, with the id tie-break; keyset pages."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.selectors import SORTS, ListSort, customer_page, customers_matching
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(store):
    """Customers with many ties and customers who never ordered."""
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    customers = []
    for index in range(23):
        customers.append(
            CustomerFactory(
                store=store,
                email=f"c{index:02d}@example.org",
                first_name=["Ann", "Bob", "Cy"][index % 3],
                last_name=["Zett", "Alpha"][index % 2],
                orders_count=index % 4,
                total_spent=Decimal(index % 5) * 10,
                last_order_at=None if index % 4 == 0 else base + dt.timedelta(days=index % 6),
                customer_since=base - dt.timedelta(days=index % 7),
            )
        )
    return customers


def python_key(sort_key):
    never = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
    return {
        "name": lambda c: (c.last_name, c.first_name),
        "email": lambda c: (c.email,),
        "orders": lambda c: (c.orders_count,),
        "spent": lambda c: (c.total_spent,),
        "last_order": lambda c: (c.last_order_at or never,),
        "since": lambda c: (c.customer_since,),
    }[sort_key]


def expected_order(customers, sort):
    key = python_key(sort.key)
    return [c.pk for c in sorted(customers, key=lambda c: (*key(c), c.pk), reverse=sort.descending)]


@pytest.mark.parametrize("key", sorted(SORTS))
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_keyset_walk_both_directions(store, crowd, key, descending):
    sort = ListSort(key=key, descending=descending)
    customers = customers_matching(store, [])
    # forward through every page of 4, then back again
    seen, page, pages = [], customer_page(customers, sort=sort, page_size=4), []
    while True:
        pages.append([c.pk for c in page.customers])
        seen.extend(pages[-1])
        if not page.has_next:
            break
        page = customer_page(customers, sort=sort, page_size=4, after=page.next_cursor)
    assert seen == expected_order(crowd, sort)
    for expected in reversed(pages[:-1]):
        page = customer_page(customers, sort=sort, page_size=4, before=page.previous_cursor)
        assert [c.pk for c in page.customers] == expected
    assert not page.has_previous


@pytest.mark.parametrize("key", ["spent", "last_order", "name"])
def test_page_jump_equals_the_walk(store, crowd, key):
    sort = ListSort(key=key, descending=True)
    customers = customers_matching(store, [])
    order = expected_order(crowd, sort)
    for number in (2, 3, 6):
        page = customer_page(customers, sort=sort, page_size=4, number=number)
        assert [c.pk for c in page.customers] == order[(number - 1) * 4 : number * 4]
        assert page.has_previous


def test_never_ordered_sort_as_oldest(store, crowd):
    customers = customers_matching(store, [])
    newest_first = customer_page(customers, sort=ListSort.parse("-last_order"), page_size=30)
    assert newest_first.customers[-1].last_order_at is None
    assert newest_first.customers[0].last_order_at is not None
    oldest_first = customer_page(customers, sort=ListSort.parse("last_order"), page_size=30)
    assert oldest_first.customers[0].last_order_at is None


def test_bad_sort_and_cursor_fall_back(store, crowd):
    assert str(ListSort.parse("-password")) == "-since"
    customers = customers_matching(store, [])
    page = customer_page(customers, sort=ListSort.parse("spent"), page_size=5, after="!!garbage")
    assert len(page.customers) == 5 and not page.has_previous


def test_money_summed_by_the_database_filters_and_pages_exactly(store):
    """SQLite sums money as floating point: 100.10 + 81.73 must still be 181.83, so that
    "spent from 181.83" includes it and a keyset page after it does not show it again."""
    from customers.conditions import Condition
    from orders.services import customer_stats_recompute_store
    from tests.factories import OrderFactory

    ties = [CustomerFactory(store=store, email=f"t{index}@example.org") for index in range(3)]
    for customer in ties:
        for total in ("100.10", "81.73"):
            OrderFactory(store=store, customer=customer, total=Decimal(total))
    customer_stats_recompute_store(store=store)

    exact = [Condition("total_spent", "between", ["181.83", "181.83"])]
    assert customers_matching(store, exact).count() == 3
    sort = ListSort.parse("-spent")
    first = customer_page(customers_matching(store, []), sort=sort, page_size=2)
    second = customer_page(
        customers_matching(store, []), sort=sort, page_size=2, after=first.next_cursor
    )
    shown = [row.pk for row in first.customers + second.customers]
    assert sorted(shown) == sorted(customer.pk for customer in ties)
