"""The segments page: saved segments with their counts, opened in the customer list, deleted."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.conditions import Condition, conditions_to_json
from customers.models import ActivityEvent
from segments.models import Segment
from segments.services import segment_create, segment_delete
from storefront_crm.errors import ServiceError
from tests.factories import (
    CustomerFactory,
    CustomerTagFactory,
    SegmentFactory,
    TaggedCustomerFactory,
)

pytestmark = pytest.mark.django_db


def segments_url(store) -> str:
    return reverse("panel:segments", kwargs={"store_slug": store.slug})


def test_a_saved_segment_is_listed_with_its_count_and_opens_its_customers(
    owner_client, store, owner
):
    vip = CustomerTagFactory(store=store, name="vip")
    big = CustomerFactory(store=store, country="DE", total_spent=Decimal("150"))
    TaggedCustomerFactory(store=store, content_object=big, tag=vip)
    CustomerFactory(store=store, country="DE", total_spent=Decimal("50"))
    CustomerFactory(store=store, country="AT", total_spent=Decimal("900"))
    conditions = [
        Condition("country", "in", ["DE"]),
        Condition("total_spent", "gte", "100"),
        Condition("tag", "any", [vip.pk]),
    ]
    segment_create(store=store, actor=owner, name="Big Germans", conditions=conditions)

    page = owner_client.get(segments_url(store))

    html = page.content.decode()
    row = re.search(r"<tr>\s*<td><a href=\"([^\"]+)\">Big Germans</a></td>\s*<td[^>]*>(\d+)", html)
    assert row is not None, html
    list_url, count = row.group(1).replace("&amp;", "&"), int(row.group(2))
    assert count == 1
    listed = owner_client.get(list_url)
    assert [customer.pk for customer in listed.context["page"].customers] == [big.pk]
    assert "Country: DE" in listed.content.decode()  # its filters show as chips


def test_a_segment_the_list_cannot_show_is_listed_without_a_link(owner_client, store):
    never = [Condition("last_order_at", "never")]
    SegmentFactory(store=store, name="Never ordered", conditions=conditions_to_json(never))
    CustomerFactory(store=store, last_order_at=None)

    html = owner_client.get(segments_url(store)).content.decode()

    assert "<td>Never ordered</td>" in html


def test_a_segment_whose_conditions_no_longer_compile_says_so(owner_client, store):
    SegmentFactory(store=store, name="Broken", conditions=[{"field": "colour", "op": "is"}])

    html = owner_client.get(segments_url(store)).content.decode()

    assert "its filters no longer apply" in html


def test_deleting_a_segment_asks_first_and_keeps_its_customers(owner_client, store):
    customer = CustomerFactory(store=store, country="DE")
    segment = SegmentFactory(
        store=store, name="Germans", conditions=[{"field": "country", "op": "in", "value": ["DE"]}]
    )
    url = reverse(
        "panel:segment_delete", kwargs={"store_slug": store.slug, "segment_id": segment.pk}
    )

    asked = owner_client.get(url)
    assert asked.status_code == 200 and "Delete segment Germans?" in asked.content.decode()
    assert Segment.objects.filter(pk=segment.pk).exists()

    done = owner_client.post(url)

    assert done.status_code == 302 and done["Location"] == segments_url(store)
    assert not Segment.objects.filter(pk=segment.pk).exists()
    customer.refresh_from_db()  # still there


def test_saving_and_deleting_a_segment_shows_in_the_store_activity(owner_client, store, owner):
    segment = segment_create(
        store=store, actor=owner, name="Germans", conditions=[Condition("country", "in", ["DE"])]
    )
    segment_delete(store=store, actor=owner, segment=segment)

    html = owner_client.get(
        reverse("panel:store_activity", kwargs={"store_slug": store.slug})
    ).content.decode()

    assert "Saved the segment “Germans”" in html
    assert "Deleted the segment “Germans”" in html
    events = ActivityEvent.objects.filter(store=store, verb__startswith="segment.")
    assert {(event.verb, event.actor_id) for event in events} == {
        ("segment.created", owner.pk),
        ("segment.deleted", owner.pk),
    }


def test_support_sees_segments_but_cannot_delete_them(client, store, support):
    segment = SegmentFactory(store=store, name="Germans")
    client.force_login(support)

    page = client.get(segments_url(store))
    delete_url = reverse(
        "panel:segment_delete", kwargs={"store_slug": store.slug, "segment_id": segment.pk}
    )

    assert page.status_code == 200 and "Germans" in page.content.decode()
    assert delete_url not in page.content.decode()
    assert client.post(delete_url).status_code == 403
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_the_service_refuses_another_stores_segment(store, other_store, owner):
    foreign = SegmentFactory(store=other_store)

    with pytest.raises(ServiceError):
        segment_delete(store=store, actor=owner, segment=foreign)


def test_the_segments_page_counts_each_segment_in_one_query(
    owner_client, store, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    SegmentFactory(store=store, name="S0")
    owner_client.get(segments_url(store))  # warm the session and menu caches
    with CaptureQueriesContext(connection) as one:
        owner_client.get(segments_url(store))
    for index in range(1, 5):
        SegmentFactory(store=store, name=f"S{index}")

    with django_assert_num_queries(len(one) + 4):  # one count per segment (at most 100)
        owner_client.get(segments_url(store))
