"""The customer list's rows built in Python, the filter fields loaded on demand, the
collapsed bulk actions and the store switcher kept in the session."""

from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import CustomFieldType
from customers.views.listing_rows import StoreFormatter, _numeric_date_pattern
from storefront_crm.formatting import date_format, money_format
from tests.customers.bulk_steps import step_fields
from tests.factories import (
    CustomerFactory,
    CustomerGroupFactory,
    CustomerTagFactory,
    CustomFieldFactory,
    MembershipFactory,
    StoreFactory,
    TaggedCustomerFactory,
)
from tests.panel_urls import customer_list_url as list_url

pytestmark = pytest.mark.django_db


def panel_url(store, **params):
    url = reverse("panel:customers_filter_panel", kwargs={"store_slug": store.slug})
    return url + ("?" + urlencode(params, doseq=True) if params else "")


@pytest.mark.parametrize("language", ["en", "de", "it"])
@pytest.mark.parametrize("currency", ["EUR", "USD", "CHF"])
def test_formatter_writes_what_the_template_tags_write(language, currency, settings):
    formatter = StoreFormatter(language=language, currency=currency)
    amounts = [Decimal("0"), Decimal("1234.565"), Decimal("-98765432.1"), 7, 0.1, None]
    for amount in amounts:
        assert formatter.money(amount) == money_format(amount, currency, language)
    days = [
        datetime(2026, 3, 7, 23, 30, tzinfo=UTC),
        datetime(2026, 12, 31, 1, 0),  # naive
        date(1, 1, 1),
        None,
    ]
    for day in days:
        assert formatter.date(day) == date_format(day, language)


def test_formatter_falls_back_to_dateformat_for_named_months():
    from django.conf.locale.de import formats as de_formats
    from django.utils.formats import reset_format_cache

    original = de_formats.SHORT_DATE_FORMAT
    de_formats.SHORT_DATE_FORMAT = r"j. F Y \u\m"
    reset_format_cache()
    try:
        formatter = StoreFormatter(language="de", currency="EUR")
        assert formatter.numeric_date is None
        assert formatter.date(date(2026, 3, 7)) == "7. März 2026 um"
        assert formatter.date(date(2026, 3, 7)) == date_format(date(2026, 3, 7), "de")
    finally:
        de_formats.SHORT_DATE_FORMAT = original
        reset_format_cache()


def test_numeric_date_pattern():
    assert _numeric_date_pattern("d.m.Y") == "{d:02d}.{m:02d}.{y:04d}"
    assert _numeric_date_pattern(r"j\x n/Y") == "{d}x {m}/{y:04d}"
    assert _numeric_date_pattern("y-m-d") is None
    assert _numeric_date_pattern("N j, Y") is None


def test_rows_escape_what_customers_typed(owner_client, store):
    customer = CustomerFactory(
        store=store, first_name="<b>Bold</b>", last_name="& Co", email="x@example.org"
    )
    link = TaggedCustomerFactory(store=store, content_object=customer, tag__name="<i>vip</i>")
    html = owner_client.get(list_url(store)).content.decode()
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html
    # The tag, escaped, links to the list of its customers.
    tag_link = (
        f'<a class="badge" href="{list_url(store)}?tag={link.tag_id}">&lt;i&gt;vip&lt;/i&gt;</a>'
    )
    assert tag_link in html
    assert 'aria-label="Select &lt;b&gt;Bold&lt;/b&gt; &amp; Co"' in html


def test_rows_show_never_inactive_and_a_dash_for_no_name(owner_client, store):
    CustomerFactory(store=store, first_name="", last_name="", is_active=False)
    html = owner_client.get(list_url(store)).content.decode()
    assert '<td><a href="' in html and ">—</a>" in html
    assert '<span class="muted">never</span>' in html
    assert '<span class="badge">inactive</span>' in html
    assert '<span class="muted">no</span>' in html


def test_filter_fields_are_not_built_until_the_panel_opens(owner_client, store):
    CustomFieldFactory(store=store, key="size", label="Size", field_type=CustomFieldType.NUMBER)
    CustomerTagFactory(store=store, name="wholesale")
    CustomerFactory(store=store, country="DE")
    owner_client.get(list_url(store))
    with CaptureQueriesContext(connection) as queries:
        response = owner_client.get(list_url(store, country="DE"))
    html = response.content.decode()
    tables = " ".join(query["sql"] for query in queries)
    assert "customers_customfield" not in tables
    assert 'id="id_spent_min"' not in html and "wholesale" not in html
    assert f'hx-get="{panel_url(store, country="DE")}"' in html
    # without JavaScript the panel's link shows the fields in the page
    assert "panel=filters" in html
    assert "Country: DE" in html  # the active filter still shows as a chip


def test_filter_panel_renders_bound_fields_with_the_stores_choices(
    owner_client, store, other_store, unscoped
):
    CustomFieldFactory(store=store, key="size", label="Size", field_type=CustomFieldType.NUMBER)
    tag = CustomerTagFactory(store=store, name="wholesale")
    CustomerTagFactory(store=other_store, name="theirs")
    response = owner_client.get(panel_url(store, country="AT", tag=tag.pk))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'value="AT"' in html and 'id="id_cf_size_min"' in html
    assert f'<option value="{tag.pk}" selected>wholesale</option>' in html
    assert "theirs" not in html


def test_panel_parameter_and_invalid_filters_show_the_fields_in_the_page(owner_client, store):
    CustomFieldFactory(store=store, key="size", label="Size", field_type=CustomFieldType.NUMBER)
    CustomerFactory(store=store)
    opened = owner_client.get(list_url(store, panel="filters")).content.decode()
    assert 'id="id_spent_min"' in opened and 'id="id_cf_size_min"' in opened
    assert '<details id="filter-panel" open>' in opened
    assert "panel=filters" not in owner_client.get(list_url(store)).context["query_string"]
    wrong = owner_client.get(list_url(store, spent_min="lots")).content.decode()
    assert '<details id="filter-panel" open>' in wrong
    assert 'id="id_cf_size_min"' in wrong and "Some filters were not applied" in wrong


def test_custom_field_filters_still_apply(owner_client, store):
    CustomFieldFactory(store=store, key="size", label="Size", field_type=CustomFieldType.NUMBER)
    big = CustomerFactory(store=store, custom_fields={"size": 44})
    CustomerFactory(store=store, custom_fields={"size": 38})
    response = owner_client.get(list_url(store, cf_size_min="40"))
    assert [c.pk for c in response.context["page"].customers] == [big.pk]
    assert any(chip.label.startswith("Size") for chip in response.context["chips"])


def test_bulk_actions_are_collapsed_above_the_table(client, owner_client, store):
    CustomerFactory(store=store)
    html = owner_client.get(list_url(store)).content.decode()
    assert '<details class="bulk-actions" id="bulk-actions">' in html
    assert html.index('id="bulk-actions"') < html.index('class="customer-table"')
    assert 'id="bulk-form"' in html and 'value="group_set"' in html
    assert 'id="bulk-group"' not in html  # the group is chosen on the next step
    client.force_login(MembershipFactory(store=store, role="support").user)
    support_html = client.get(list_url(store)).content.decode()
    assert 'id="bulk-form"' in support_html and 'value="group_set"' not in support_html


def test_set_group_asks_which_group_then_sets_it(owner_client, store, other_store, unscoped):
    wholesale = CustomerGroupFactory(store=store, name="Wholesale")
    CustomerGroupFactory(store=other_store, name="Theirs")
    chosen, other = CustomerFactory(store=store), CustomerFactory(store=store)
    bulk = reverse("panel:customers_bulk", kwargs={"store_slug": store.slug})
    data = {"action": "group_set", "scope": "selected", "ids": [chosen.pk], "query": "q=x"}
    step = owner_client.post(bulk, data)
    html = step.content.decode()
    assert step.status_code == 200 and "1 customer" in html
    assert f'<option value="{wholesale.pk}">Wholesale</option>' in html and "Theirs" not in html
    assert f'name="ids" value="{chosen.pk}"' in html and 'name="query" value="q=x"' in html
    done = owner_client.post(bulk, {**step_fields(step), "group": wholesale.pk})
    assert done.status_code == 302 and "q=x" in done["Location"]
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.group_id == wholesale.pk and other.group_id != wholesale.pk


def test_list_query_count_is_fixed(owner_client, store):
    """The membership with its user, and the page: on PostgreSQL one round trip with the
    rows, their tags, the bounded count and the estimate; SQLite reads the tags and the
    count separately. The session comes from the cache. A search also reads the store's
    tag names, to offer those it names."""
    for index in range(60):
        customer = CustomerFactory(store=store, total_spent=Decimal(index))
        TaggedCustomerFactory(store=store, content_object=customer, tag__name=f"t{index}")
    owner_client.get(list_url(store))
    expected = 2 if connection.vendor == "postgresql" else 4
    for params, more in (
        ({}, 0),
        ({"sort": "-spent", "q": "e", "spent_min": "1"}, 1),
        ({"sort": "name", "page": "2"}, 0),  # a jump: the boundary is a subquery of the page's
    ):
        with CaptureQueriesContext(connection) as queries:
            response = owner_client.get(list_url(store, **params))
        assert response.status_code == 200
        assert len(queries) == expected + more, [query["sql"][:80] for query in queries]


def test_page_jumps_at_and_past_the_end(owner_client, store):
    for index in range(100):
        CustomerFactory(store=store, total_spent=Decimal(index))
    last = owner_client.get(list_url(store, sort="spent", page="2"))
    assert last.context["page"].number == 2 and last.context["next_url"] is None
    assert [c.total_spent for c in last.context["page"].customers][:2] == [50, 51]
    assert last.context["previous_url"] is not None
    at_end = owner_client.get(list_url(store, sort="spent", page="3"))
    assert at_end.context["page"].number == 3 and at_end.context["page"].customers == []
    assert "There is no such page." in at_end.content.decode()
    past = owner_client.get(list_url(store, sort="spent", page="9"))
    assert past.context["page"].number == 1 and len(past.context["page"].customers) == 50


def test_store_switcher_lists_the_users_stores_from_the_session(client, store):
    membership = MembershipFactory(store=store, role="owner")
    second = StoreFactory(slug="second", name="Second shop")
    MembershipFactory(store=second, user=membership.user, role="support")
    client.force_login(membership.user)
    client.get(list_url(store))
    with CaptureQueriesContext(connection) as queries:
        html = client.get(list_url(store)).content.decode()
    memberships = [q for q in queries if "storefront_crm_membership" in q["sql"]]
    assert len(memberships) == 1  # the middleware's; the switcher's list is in the session
    assert "Switch store" in html and "Second shop" in html
    assert f'href="{reverse("panel:dashboard", args=[second.slug])}"' in html
    # a store joined since is listed as soon as it is opened
    third = StoreFactory(slug="third", name="Third shop")
    MembershipFactory(store=third, user=membership.user, role="owner")
    third_html = client.get(reverse("panel:dashboard", args=[third.slug])).content.decode()
    assert "Third shop" in third_html and "Second shop" in third_html


def test_query_values_are_escaped_in_the_page_jump_and_sort_links(owner_client, store):
    for index in range(60):
        CustomerFactory(store=store, first_name='x"><b>', total_spent=Decimal(index))
    html = owner_client.get(list_url(store, q='x"><b>')).content.decode()
    assert '<input type="hidden" name="q" value="x&quot;&gt;&lt;b&gt;">' in html
    assert 'href="?q=x%22%3E%3Cb%3E&amp;sort=name"' in html
    assert 'value="x"><b>' not in html
