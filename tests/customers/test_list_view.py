"""The customer list page: rendering, query count, keyset pages, chips, roles, tenancy."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import CustomerGroup
from tests.factories import (
    CustomerFactory,
    CustomerGroupFactory,
    CustomerTagFactory,
    MembershipFactory,
    TaggedCustomerFactory,
)
from tests.panel_urls import customer_list_url as list_url

pytestmark = pytest.mark.django_db


def make_customers(store, count, **fields):
    group = CustomerGroupFactory(store=store, name=f"VIP {count}")
    tags = [CustomerTagFactory(store=store, name=f"t{count}-{i}") for i in range(3)]
    customers = []
    for index in range(count):
        customer = CustomerFactory(
            store=store, group=group, total_spent=Decimal(index), orders_count=index, **fields
        )
        for tag in tags[: 1 + index % 3]:
            TaggedCustomerFactory(store=store, content_object=customer, tag=tag)
        customers.append(customer)
    return customers


def count_queries(client, url):
    client.get(url)  # the first view of a session also writes the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_list_query_count_does_not_grow_with_rows(owner_client, store, other_store):
    make_customers(store, 5)
    few, _ = count_queries(owner_client, list_url(store))
    make_customers(store, 45)
    many, response = count_queries(owner_client, list_url(store))
    assert len(response.context["page"].customers) == 50
    assert few == many
    # with filters, a search, tags and custom sort as well
    params = {"q": "e", "spent_min": "1", "tag_mode": "any", "sort": "-last_order"}
    filtered_few, _ = count_queries(owner_client, list_url(store, **params))
    # The bounded count rides with the rows and conditions add no query; a search reads the
    # store's tag names once (offered as filters).
    assert filtered_few == many + 1
    make_customers(store, 30)
    filtered_many, _ = count_queries(owner_client, list_url(store, **params))
    assert filtered_many == filtered_few


def test_list_shows_columns_and_orders_link(owner_client, store):
    customer = CustomerFactory(
        store=store,
        first_name="Jörg",
        last_name="Müller",
        email="joerg@example.org",
        orders_count=3,
        total_spent=Decimal("120.50"),
        accepts_marketing=True,
        is_blocked=True,
    )
    TaggedCustomerFactory(store=store, content_object=customer, tag__name="vip")
    response = owner_client.get(list_url(store))
    html = response.content.decode()
    assert "Jörg Müller" in html and "joerg@example.org" in html and "vip" in html
    orders = reverse("panel:orders", kwargs={"store_slug": store.slug})
    assert f'href="{orders}?customer={customer.pk}"' in html
    assert "blocked" in html and "subscribed" in html
    assert "1 customer" in html


def test_another_stores_customers_never_appear(owner_client, store, other_store, unscoped):
    CustomerFactory(store=store, email="mine@example.org")
    CustomerFactory(store=other_store, email="theirs@example.org", first_name="Zed")
    html = owner_client.get(list_url(store, q="example")).content.decode()
    assert "mine@example.org" in html and "theirs@example.org" not in html


def test_another_stores_group_and_tag_ids_are_refused(owner_client, store, other_store, unscoped):
    mine = CustomerFactory(store=store)
    foreign_group = CustomerGroup.objects.filter(store=other_store).first()
    foreign_tag = CustomerTagFactory(store=other_store, name="foreign")
    response = owner_client.get(list_url(store, group=foreign_group.pk, tag=foreign_tag.pk))
    form = response.context["filters"].form
    assert "group" in form.errors and "tag" in form.errors
    # Invalid filters are errors that list nobody: left out, they would list everyone.
    assert response.context["page"].customers == []
    html = response.content.decode()
    assert "no customers are listed" in html and "belongs to another store" in html
    assert mine.email not in html


def test_filters_show_as_removable_chips(owner_client, store):
    group = CustomerGroupFactory(store=store, name="Wholesale")
    CustomerFactory(store=store, group=group, country="AT")
    response = owner_client.get(list_url(store, group=group.pk, country="at", q="x"))
    chips = response.context["chips"]
    labels = [chip.label for chip in chips]
    assert "Group: Wholesale" in labels
    assert any(label.startswith("Country") and "AT" in label for label in labels)
    group_chip = next(chip for chip in chips if chip.label == "Group: Wholesale")
    assert "group=" not in group_chip.remove_url and "country=at" in group_chip.remove_url


def test_keyset_next_and_previous_links(owner_client, store):
    make_customers(store, 120)
    first = owner_client.get(list_url(store, sort="-spent"))
    page1 = [c.pk for c in first.context["page"].customers]
    next_url = first.context["next_url"]
    assert first.context["previous_url"] is None and "after=" in next_url
    second = owner_client.get(list_url(store) + next_url)
    page2 = [c.pk for c in second.context["page"].customers]
    assert second.context["page"].number == 2 and not set(page1) & set(page2)
    third = owner_client.get(list_url(store) + second.context["next_url"])
    assert len(third.context["page"].customers) == 20 and third.context["next_url"] is None
    back = owner_client.get(list_url(store) + third.context["previous_url"])
    assert [c.pk for c in back.context["page"].customers] == page2
    back1 = owner_client.get(list_url(store) + back.context["previous_url"])
    assert [c.pk for c in back1.context["page"].customers] == page1


def test_page_jump_matches_keyset_walk(owner_client, store):
    make_customers(store, 120)
    walked = owner_client.get(list_url(store, sort="name"))
    walked = owner_client.get(list_url(store) + walked.context["next_url"])
    jumped = owner_client.get(list_url(store, sort="name", page=2))
    assert [c.pk for c in jumped.context["page"].customers] == [
        c.pk for c in walked.context["page"].customers
    ]
    assert jumped.context["page_count"] == 3
    beyond = owner_client.get(list_url(store, page=99))
    assert beyond.status_code == 200


def test_a_search_offers_the_tags_it_names_as_filters(owner_client, store, other_store):
    vip = CustomerTagFactory(store=store, name="VIP")
    vip_gold = CustomerTagFactory(store=store, name="Gold VIP")
    cafe = CustomerTagFactory(store=store, name="Café owner")
    CustomerTagFactory(store=store, name="Newsletter")
    ab = CustomerTagFactory(store=store, name="AB")
    CustomerTagFactory(store=other_store, name="VIP 2")
    tagged = CustomerFactory(store=store, first_name="Greta", last_name="Lindqvist")
    TaggedCustomerFactory(store=store, content_object=tagged, tag=vip)
    CustomerFactory(store=store, first_name="Vipul", last_name="Shah")

    def offered(**params):
        response = owner_client.get(list_url(store, **params))
        return response.context["search_tags"], response.content.decode()

    tags, html = offered(q="vip")
    # The exact name first; links keep no search, so the tag's customers are all shown.
    assert tags == [("VIP", f"?tag={vip.pk}"), ("Gold VIP", f"?tag={vip_gold.pk}")]
    assert "Vipul Shah" in html and "Greta" not in html  # the search itself: names and emails
    assert f'href="?tag={vip.pk}"' in html and "Show the customers tagged VIP" in html
    assert offered(q="CAFE")[0] == [("Café owner", f"?tag={cafe.pk}")]  # accents, case
    assert offered(q="owner café")[0] == [("Café owner", f"?tag={cafe.pk}")]  # every word
    assert offered(q="e")[0] == []  # a letter or two is in too many names to mean a tag
    assert offered(q="ab")[0] == [("AB", f"?tag={ab.pk}")]  # unless it is the whole name
    assert offered(q="vip 2")[0] == []  # another store's tags are never offered
    assert offered()[0] == [] and offered(country="DE")[0] == []
    # The other filters stay; the tag replaces any tag filter.
    tags, _html = offered(q="vip", country="SE", tag=ab.pk, tag_mode="all")
    assert tags[0] == ("VIP", f"?country=SE&tag={vip.pk}")
    # Followed, the link lists the tagged customer.
    html = owner_client.get(list_url(store) + f"?tag={vip.pk}").content.decode()
    assert "Greta Lindqvist" in html and "Vipul" not in html


def test_a_search_that_finds_nobody_still_offers_its_tags(owner_client, store):
    tag = CustomerTagFactory(store=store, name="Stammkunde")
    CustomerFactory(store=store, first_name="Anna")
    html = owner_client.get(list_url(store, q="stammkunde")).content.decode()
    assert "No customers match these filters." in html
    assert f'href="?tag={tag.pk}"' in html


def test_empty_states(owner_client, store):
    assert "No customers yet." in owner_client.get(list_url(store)).content.decode()
    CustomerFactory(store=store)
    html = owner_client.get(list_url(store, q="nobody-like-this")).content.decode()
    assert "No customers match these filters." in html


def test_support_sees_only_the_actions_it_may_use(client, store):
    user = MembershipFactory(store=store, role="support").user
    client.force_login(user)
    CustomerFactory(store=store)
    response = client.get(list_url(store))
    names = [name for name, _label in response.context["bulk_actions"]]
    assert names == ["tag_add", "tag_remove"]
    assert not re.search(r'value="delete"', response.content.decode())


def test_save_as_segment(owner_client, store):
    from segments.models import Segment
    from segments.selectors import segment_queryset

    match = CustomerFactory(store=store, country="DE", total_spent=Decimal("150"))
    CustomerFactory(store=store, country="DE", total_spent=Decimal("50"))
    url = reverse("panel:segment_create", kwargs={"store_slug": store.slug})
    response = owner_client.post(url, {"name": "Big Germans", "query": "country=DE&spent_min=100"})
    assert response.status_code == 302 and "country=DE" in response["Location"]
    segment = Segment.objects.get(store=store)
    assert segment.conditions == [
        {"field": "total_spent", "op": "gte", "value": "100"},
        {"field": "country", "op": "in", "value": ["DE"]},
    ]
    assert list(segment_queryset(segment)) == [match]
    owner_client.post(url, {"name": "big germans", "query": "country=DE"})
    assert Segment.objects.filter(store=store).count() == 1  # name taken, refused


def test_where_customers_came_from_is_a_filter_and_shows_on_the_profile(owner_client, store):
    imported = CustomerFactory(store=store, source="import")
    CustomerFactory(store=store, source="order")
    url = reverse("panel:customers", kwargs={"store_slug": store.slug})

    response = owner_client.get(url, {"source": "import"})

    assert [row.pk for row in response.context["page"].customers] == [imported.pk]
    assert "Came from: Import" in response.content.decode()  # the choice's label, not its key
    profile = owner_client.get(
        reverse("panel:customer", kwargs={"store_slug": store.slug, "customer_id": imported.pk})
    )
    assert "<dt>Came from</dt><dd>Import</dd>" in profile.content.decode()


def test_searching_keeps_the_active_filters(owner_client, store):
    """The search box submits the chips' filters too (the filter fields are not in the page
    until the panel is opened); with the panel open the fields carry them instead."""
    make_customers(store, 3, country="DE")
    tag = CustomerTagFactory(store=store, name="vip")
    params = {"country": "DE", "tag": str(tag.pk), "sort": "-spent"}
    html = owner_client.get(list_url(store, **params)).content.decode()
    start = html.index('class="customer-filters"')
    search_form = html[start : html.index("</form>", start)]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', search_form))
    assert hidden == {"sort": "-spent", "country": "DE", "tag": str(tag.pk)}
    opened = owner_client.get(list_url(store, panel="filters", **params)).content.decode()
    start = opened.index('class="customer-filters"')
    opened_form = opened[start : opened.index("</form>", start)]
    assert 'type="hidden" name="country"' not in opened_form


def test_reversed_ranges_and_fractional_order_counts_are_errors(owner_client, store):
    make_customers(store, 3)
    for params, field in (
        ({"spent_min": "100", "spent_max": "50"}, "spent_max"),
        ({"orders_min": "5", "orders_max": "2"}, "orders_max"),
        ({"last_order_from": "2026-11-20", "last_order_to": "2026-11-01"}, "last_order_to"),
        ({"orders_min": "1.5"}, "orders_min"),
    ):
        response = owner_client.get(list_url(store, **params))
        errors = response.context["filters"].form.errors
        assert field in errors, (params, errors)
    response = owner_client.get(list_url(store, spent_min="100", spent_max="50"))
    assert "is less than" in response.content.decode()
    chips = owner_client.get(list_url(store, spent_min="1e3")).context["chips"]
    assert [chip.label for chip in chips] == ["Total spent from: 1000"]
    chips = owner_client.get(list_url(store, since_from="2026-01-31")).context["chips"]
    assert [chip.label for chip in chips] == ["Customer since from: 01/31/2026"]


def test_a_page_past_the_end_says_so(owner_client, store):
    make_customers(store, 3)
    response = owner_client.get(list_url(store, page="9999"))
    assert response.context["page"].number == 1
    assert "There is no page 9999 of this list" in response.content.decode()
    assert "There is no page" not in owner_client.get(list_url(store)).content.decode()


def test_the_head_selects_every_row_of_the_page(owner_client, store):
    make_customers(store, 3)
    html = owner_client.get(list_url(store)).content.decode()
    assert 'class="select-page"' in html and "Select all on this page" in html
