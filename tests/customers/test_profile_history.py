"""The customer's order history and activity log beyond what the profile shows: keyset
pages, newest first, older and newer, a fixed number of queries per page."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import ActivityEvent
from customers.selectors_profile import cursor_parse
from customers.views.profile import (
    HISTORY_EVENTS,
    HISTORY_ORDERS,
    PROFILE_EVENTS,
    PROFILE_ORDERS,
)
from tests.factories import CustomerFactory, MembershipFactory, OrderFactory
from tests.panel_urls import panel_url as url

pytestmark = pytest.mark.django_db

START = datetime.datetime(2024, 1, 1, 12, 0, tzinfo=datetime.UTC)


def orders_of(customer, store, count, *, first=1, step=datetime.timedelta(hours=1)):
    """Orders numbered first..first+count-1, order n placed n steps after START."""
    return [
        OrderFactory(
            store=store,
            customer=customer,
            number=number,
            placed_at=START + number * step,
        )
        for number in range(first, first + count)
    ]


def events_of(customer, store, count, *, same_time=False):
    """Events numbered 1..count in data["n"], newest = highest n."""
    ActivityEvent.objects.bulk_create(
        ActivityEvent(
            store=store,
            customer=customer,
            verb="order.placed",
            data={"order": f"E{n}"},
            created_at=START if same_time else START + datetime.timedelta(minutes=n),
        )
        for n in range(1, count + 1)
    )


def numbers_on(page: str, prefix: str) -> list[int]:
    return [int(n) for n in re.findall(rf"{prefix}(\d+)<", page)]


def link(page: str, rel: str) -> str:
    found = re.search(rf'<a href="([^"]*)" rel="{rel}">', page)
    return found.group(1).replace("&amp;", "&") if found else ""


def test_the_profile_links_to_the_orders_after_the_last_one_it_shows(owner_client, store):
    customer = CustomerFactory(store=store)
    count = PROFILE_ORDERS + HISTORY_ORDERS + 3
    orders_of(customer, store, count)

    profile = owner_client.get(url("customer", store, customer.pk)).content.decode()
    shown = numbers_on(profile, "#")
    assert shown == list(range(count, count - PROFILE_ORDERS, -1))
    older = re.search(r'href="([^"]*/orders/\?before=[^"]+)"', profile).group(1)

    first = owner_client.get(older).content.decode()
    assert numbers_on(first, "#") == list(
        range(count - PROFILE_ORDERS, count - PROFILE_ORDERS - HISTORY_ORDERS, -1)
    )
    assert "Newest" in first
    last = owner_client.get(url("customer_orders", store, customer.pk) + link(first, "next"))
    assert numbers_on(last.content.decode(), "#") == [3, 2, 1]
    assert link(last.content.decode(), "next") == ""  # nothing older

    # and back again: the page of newer orders is the one before
    back = owner_client.get(
        url("customer_orders", store, customer.pk) + link(last.content.decode(), "prev")
    )
    assert numbers_on(back.content.decode(), "#") == numbers_on(first, "#")


def test_a_customer_with_few_orders_has_no_history_link(owner_client, store):
    customer = CustomerFactory(store=store)
    orders_of(customer, store, PROFILE_ORDERS)

    profile = owner_client.get(url("customer", store, customer.pk)).content.decode()

    assert "/orders/?before=" not in profile and "Older orders" not in profile
    assert "/activity/?before=" not in profile


def test_the_activity_log_pages_through_every_event_once_even_at_the_same_instant(
    owner_client, store
):
    customer = CustomerFactory(store=store)
    count = PROFILE_EVENTS + 2 * HISTORY_EVENTS + 7
    events_of(customer, store, count, same_time=True)  # the id alone orders them

    profile = owner_client.get(url("customer", store, customer.pk)).content.decode()
    seen = re.findall(r"Placed order #E(\d+)", profile)
    assert len(seen) == PROFILE_EVENTS
    next_url = re.search(r'href="([^"]*/activity/\?before=[^"]+)"', profile).group(1)
    pages = 0
    while next_url:
        page = owner_client.get(next_url).content.decode()
        seen += re.findall(r"Placed order #E(\d+)", page)
        pages += 1
        after = link(page, "next")
        next_url = url("customer_activity", store, customer.pk) + after if after else ""

    assert pages == 3
    assert [int(n) for n in seen] == list(range(count, 0, -1))


def test_the_activity_page_without_a_cursor_starts_at_the_newest(owner_client, store):
    customer = CustomerFactory(store=store)
    events_of(customer, store, 3)

    for query in ("", "?before=garbage", "?before=-1-2", "?after=99999999999999999999-1"):
        page = owner_client.get(url("customer_activity", store, customer.pk) + query)
        assert page.status_code == 200
        assert re.findall(r"Placed order #E(\d+)", page.content.decode()) == ["3", "2", "1"]


def test_a_cursor_is_the_time_and_id_of_a_row():
    moment, pk = cursor_parse("1718000000123456-42")
    assert pk == 42
    assert moment == datetime.datetime(2024, 6, 10, 6, 13, 20, 123456, tzinfo=datetime.UTC)
    assert cursor_parse("1-2-3") is None and cursor_parse(None) is None


def _queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


def test_history_pages_run_a_fixed_number_of_queries(owner_client, store, owner):
    small, big = CustomerFactory(store=store), CustomerFactory(store=store)
    orders_of(small, store, 1)
    events_of(small, store, 1)
    orders_of(big, store, HISTORY_ORDERS + 10, first=10)
    events_of(big, store, HISTORY_EVENTS + 10)
    ActivityEvent.objects.filter(customer=big).update(actor=owner)

    for name in ("customer_orders", "customer_activity"):
        _queries(owner_client, url(name, store, small.pk))  # warm up
        baseline = _queries(owner_client, url(name, store, small.pk))
        assert _queries(owner_client, url(name, store, big.pk)) == baseline
        page = owner_client.get(url(name, store, big.pk)).content.decode()
        older = url(name, store, big.pk) + link(page, "next")
        assert _queries(owner_client, older) == baseline


def test_support_reads_the_history_pages(client, store):
    client.force_login(MembershipFactory(store=store, role="support").user)
    customer = CustomerFactory(store=store)
    orders_of(customer, store, 2)
    events_of(customer, store, 2)

    orders = client.get(url("customer_orders", store, customer.pk))
    activity = client.get(url("customer_activity", store, customer.pk))

    assert orders.status_code == 200 and numbers_on(orders.content.decode(), "#") == [2, 1]
    assert activity.status_code == 200 and "Placed order #E2" in activity.content.decode()


def test_cursors_keep_the_microseconds(owner_client, store):
    customer = CustomerFactory(store=store)
    orders_of(customer, store, PROFILE_ORDERS + 2, step=datetime.timedelta(microseconds=1))

    profile = owner_client.get(url("customer", store, customer.pk)).content.decode()
    older = re.search(r'href="([^"]*/orders/\?before=[^"]+)"', profile).group(1)

    assert numbers_on(owner_client.get(older).content.decode(), "#") == [2, 1]
