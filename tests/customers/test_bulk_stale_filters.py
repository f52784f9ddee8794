"""A bulk action on "all that match" acts on what the member reviewed, or not at all.

A filter value that no longer applies (a deleted group or tag, a custom field removed and
added again under another name, another store's id) used to be dropped, and no conditions
mean the whole store: deleting the two members of a group that a colleague had just
deleted deleted all five customers. Each way a filter can go stale is tried here for
delete, tag, group and export."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from customers.conditions import Condition
from customers.models import Customer, CustomerGroup, CustomerTag, CustomField, TaggedCustomer
from customers.selectors import customer_selection, customers_matching
from customers.services.bulk import SelectionChanged, bulk_action_start
from customers.services.custom_fields import custom_field_create, custom_field_delete
from customers.services.groups import group_delete
from customers.services.tags import tag_delete
from storefront_crm.models import Job
from tests.factories import (
    CustomerFactory,
    CustomerGroupFactory,
    CustomerTagFactory,
    TaggedCustomerFactory,
)

from .bulk_steps import step_fields

pytestmark = pytest.mark.django_db

ACTIONS_WITH_A_STEP = ("delete", "group_set", "export")


def bulk_url(store):
    return reverse("panel:customers_bulk", kwargs={"store_slug": store.slug})


@pytest.fixture
def five(store):
    """Five customers, two of them in group VIP, tagged "vip" and with size L."""
    custom_field_create(store=store, actor=None, label="Size", field_type="text")
    vip = CustomerGroupFactory(store=store, name="VIP")
    tag = CustomerTagFactory(store=store, name="vip")
    customers = [CustomerFactory(store=store, email=f"c{n}@example.org") for n in range(5)]
    for customer in customers[:2]:
        customer.group = vip
        customer.custom_fields = {"size": "L"}
        customer.save()
        TaggedCustomerFactory(store=store, content_object=customer, tag=tag)
    return {"group": vip, "tag": tag, "customers": customers}


def _stale_group(store, owner, five):
    group_delete(store=store, actor=owner, group=five["group"])


def _stale_tag(store, owner, five):
    tag_delete(store=store, actor=owner, tag=five["tag"])


def _stale_field(store, owner, five):
    # A field's key never changes: renaming it means removing it and adding another.
    field = CustomField.objects.get(store=store, key="size")
    custom_field_delete(store=store, actor=owner, field=field)
    custom_field_create(store=store, actor=owner, label="Shoe size", field_type="text")


STALENESS = {
    "deleted group": (lambda five: f"group={five['group'].pk}", _stale_group),
    "deleted tag": (lambda five: f"tag={five['tag'].pk}", _stale_tag),
    "renamed custom field": (lambda five: "cf_size=L", _stale_field),
}


def _state(store):
    """What a bulk action could have changed."""
    with scopes_disabled():
        return {
            "customers": sorted(Customer.objects.filter(store=store).values_list("pk", flat=True)),
            "groups": sorted(Customer.objects.filter(store=store).values_list("group_id", "pk")),
            "links": TaggedCustomer.objects.filter(store=store).count(),
            "jobs": Job.objects.filter(store=store).count(),
        }


def _first_post(action, query):
    data = {"action": action, "scope": "all", "query": query}
    if action == "tag_add":
        data["tag"] = "called"
    if action == "group_set":
        data["group"] = ""
    return data


@pytest.mark.parametrize("staleness", list(STALENESS))
@pytest.mark.parametrize("action", ["delete", "tag_add", "group_set", "export"])
def test_a_filter_gone_stale_before_the_action_runs_is_refused(
    client, store, owner, five, staleness, action
):
    client.force_login(owner)
    query_of, make_stale = STALENESS[staleness]
    data = _first_post(action, query_of(five))
    if action in ACTIONS_WITH_A_STEP:
        # The member reviews the step page while the filter still holds: two customers.
        step = client.post(bulk_url(store), data)
        assert step.status_code == 200
        assert b"2 customers" in step.content
        standard = CustomerGroup.objects.filter(store=store).exclude(name="VIP").first()
        data = {**step_fields(step), "confirmed": "yes", "dialect": "standard"}
        if action == "group_set":
            data["group"] = str(standard.pk)
    make_stale(store, owner, five)
    before = _state(store)

    response = client.post(bulk_url(store), data, follow=True)

    assert _state(store) == before, "the stale filter acted on customers"
    html = response.content.decode()
    assert "Nothing was done: the filters cannot be applied." in html
    # The list it returns to says why and lists nobody.
    assert "no customers are listed" in html
    assert "c4@example.org" not in html


@pytest.mark.parametrize("action", ["delete", "tag_add", "group_set", "export"])
@pytest.mark.parametrize("kind", ["group", "tag"])
def test_another_stores_id_in_the_filter_is_refused_before_any_step(
    client, store, other_store, owner, five, action, kind
):
    with scopes_disabled():
        foreign = (
            CustomerGroupFactory(store=other_store, name="Theirs")
            if kind == "group"
            else CustomerTagFactory(store=other_store, name="theirs")
        )
    client.force_login(owner)
    before = _state(store)

    response = client.post(
        bulk_url(store), _first_post(action, f"{kind}={foreign.pk}"), follow=True
    )

    assert _state(store) == before
    html = response.content.decode()
    assert "belongs to another store" in html and "Nothing was done" in html


def test_a_typo_in_a_filter_name_is_an_error_not_the_whole_store(client, store, owner, five):
    client.force_login(owner)
    before = _state(store)
    response = client.post(
        bulk_url(store),
        {"action": "delete", "scope": "all", "query": "contry=DE", "confirmed": "yes"},
        follow=True,
    )
    assert _state(store) == before
    assert "The list has no filter “contry”." in response.content.decode()


def test_the_confirmation_is_bound_to_the_count_it_showed(client, store, owner, five):
    client.force_login(owner)
    query = f"group={five['group'].pk}"
    step = client.post(bulk_url(store), {"action": "delete", "scope": "all", "query": query})
    assert b"2 customers will be deleted." in step.content
    # A colleague moves a third customer into the group meanwhile.
    third = five["customers"][2]
    third.group = five["group"]
    third.save()

    again = client.post(bulk_url(store), {**step_fields(step), "confirmed": "yes"})

    assert again.status_code == 200
    assert "3 customers match now, not 2: review again." in again.content.decode()
    assert b"3 customers will be deleted." in again.content
    assert Customer.objects.filter(store=store).count() == 5
    # Confirmed once more, for the three it now shows, it deletes exactly them.
    done = client.post(bulk_url(store), {**step_fields(again), "confirmed": "yes"}, follow=True)
    assert b"3 customers deleted." in done.content
    assert sorted(Customer.objects.filter(store=store).values_list("email", flat=True)) == [
        "c3@example.org",
        "c4@example.org",
    ]


def test_the_confirmation_is_bound_to_which_customers_not_only_how_many(store, owner, five):
    conditions = [Condition("group", "in", [five["group"].pk])]
    reviewed = customer_selection(customers_matching(store, conditions))
    # Same count, other customers: one leaves the group, another joins.
    leaving, joining = five["customers"][0], five["customers"][3]
    leaving.group, joining.group = joining.group, five["group"]
    leaving.save()
    joining.save()

    with pytest.raises(SelectionChanged, match=r"still 2, but not the same ones"):
        bulk_action_start(
            store=store,
            actor=owner,
            action="delete",
            conditions=conditions,
            customer_ids=None,
            expected=reviewed,
        )
    assert Customer.objects.filter(store=store).count() == 5


def test_export_and_group_steps_bind_their_selection_too(client, store, owner, five):
    client.force_login(owner)
    query = f"tag={five['tag'].pk}"
    for action, answer in (("export", {"dialect": "standard"}), ("group_set", {})):
        step = client.post(bulk_url(store), {"action": action, "scope": "all", "query": query})
        TaggedCustomerFactory(
            store=store, content_object=CustomerFactory(store=store), tag=five["tag"]
        )
        group = CustomerGroupFactory(store=store)
        response = client.post(
            bulk_url(store), {**step_fields(step), **answer, "group": str(group.pk)}
        )
        assert response.status_code == 200, action
        assert "match now, not" in response.content.decode(), action
    assert not Job.objects.filter(store=store).exists()
    assert not Customer.objects.filter(store=store, group__name__startswith="Group").exists()


def test_tag_remove_with_a_deleted_tag_in_the_filter_changes_nobody(client, store, owner, five):
    other = CustomerTag.objects.create(store=store, name="other", slug="other")
    for customer in five["customers"]:
        TaggedCustomerFactory(store=store, content_object=customer, tag=other)
    query = f"tag={five['tag'].pk}"
    tag_delete(store=store, actor=owner, tag=five["tag"])
    client.force_login(owner)
    client.post(
        bulk_url(store), {"action": "tag_remove", "scope": "all", "query": query, "tag": "other"}
    )
    assert TaggedCustomer.objects.filter(store=store, tag=other).count() == 5
