"""The groups, tags and custom-fields pages: roles, foreign ids, forms, query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import (
    Customer,
    CustomerGroup,
    CustomerTag,
    CustomField,
    CustomFieldType,
    GroupKind,
    TaggedCustomer,
)
from storefront_crm.jobs import job_execute
from storefront_crm.models import Job, JobStatus
from tests.factories import (
    CustomerFactory,
    CustomerGroupFactory,
    CustomerTagFactory,
    CustomFieldFactory,
    TaggedCustomerFactory,
)
from tests.panel_urls import panel_url as url

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_as(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


# --- Pages render, with a fixed number of queries -------------------------------------


def queries_for(client, address):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(address)
    assert response.status_code == 200
    return len(captured)


def test_groups_page_lists_groups_with_member_counts(owner_client, store):
    wholesale = CustomerGroupFactory(store=store, name="Wholesale", discount_percent=Decimal("10"))
    CustomerFactory.create_batch(3, store=store, group=wholesale)
    CustomerFactory(store=store)

    response = owner_client.get(url("customer_groups", store))

    groups = {group.name: group.member_count for group in response.context["groups"]}
    assert groups == {"Guests": 1, "Standard": 0, "Wholesale": 3}
    assert [group.kind for group in response.context["groups"]][:2] == [
        GroupKind.GUESTS,
        GroupKind.STANDARD,
    ]
    assert f'href="{url("customers", store)}?group={wholesale.pk}">3<' in response.content.decode()


def test_setup_pages_run_a_fixed_number_of_queries(owner_client, store):
    pages = [
        url("customer_groups", store),
        url("customer_tags", store),
        url("custom_fields", store),
    ]
    CustomerGroupFactory(store=store)
    TaggedCustomerFactory(store=store)
    CustomFieldFactory(store=store, field_type=CustomFieldType.CHOICE, choices=["a"])
    owner_client.get(pages[0])  # the session's first request writes the last-used store
    few = [queries_for(owner_client, page) for page in pages]

    for _ in range(15):
        group = CustomerGroupFactory(store=store)
        CustomerFactory.create_batch(2, store=store, group=group)
        TaggedCustomerFactory(store=store)
        CustomFieldFactory(store=store, field_type=CustomFieldType.CHOICE, choices=["a", "b"])
    many = [queries_for(owner_client, page) for page in pages]

    assert few == many


def test_tags_page_shows_counts_and_the_limit(owner_client, store, settings):
    settings.STOREFRONT_MAX_TAGS_PER_STORE = 3
    vip = CustomerTagFactory(store=store, name="vip")
    TaggedCustomerFactory.create_batch(2, store=store, tag=vip)
    CustomerTagFactory(store=store, name="new")

    response = owner_client.get(url("customer_tags", store))

    assert {tag.name: tag.customer_count for tag in response.context["tags"]} == {
        "new": 0,
        "vip": 2,
    }
    assert "2 of 3 tags" in response.content.decode()


def test_tag_creation_on_the_tags_page_is_refused_at_the_limit(owner_client, store, settings):
    settings.STOREFRONT_MAX_TAGS_PER_STORE = 2
    CustomerTagFactory(store=store, name="a")
    owner_client.post(url("customer_tag_create", store), {"name": "b"})

    page = owner_client.get(url("customer_tags", store)).content.decode()
    refused = owner_client.post(url("customer_tag_create", store), {"name": "c"})

    assert "2 of 2 tags" in page
    assert "reached its limit" in page
    assert refused.status_code == 400
    assert "at most 2 tags" in refused.content.decode()
    assert sorted(CustomerTag.objects.values_list("name", flat=True)) == ["a", "b"]


def test_tag_creation_refuses_an_existing_name(owner_client, store):
    CustomerTagFactory(store=store, name="VIP")

    response = owner_client.post(url("customer_tag_create", store), {"name": "vip"})

    assert response.status_code == 400
    assert "already has the tag" in response.content.decode()


def test_custom_fields_page_lists_fields_in_order(owner_client, store):
    second = CustomFieldFactory(store=store, label="Second", position=1)
    first = CustomFieldFactory(store=store, label="First", position=0)

    response = owner_client.get(url("custom_fields", store))

    assert response.context["fields"] == [first, second]


def test_the_panel_links_the_setup_pages(owner_client, store):
    page = owner_client.get(url("customer_groups", store)).content.decode()
    for name in ("customer_groups", "customer_tags", "custom_fields"):
        assert f'href="{url(name, store)}"' in page


# --- Writes through the pages ---------------------------------------------------------


def test_group_create_and_duplicate_name_error(owner_client, store):
    created = owner_client.post(
        url("customer_group_create", store), {"name": "Wholesale", "discount_percent": "12.5"}
    )
    duplicate = owner_client.post(
        url("customer_group_create", store), {"name": "wholesale", "discount_percent": "0"}
    )

    assert created.status_code == 302
    group = CustomerGroup.objects.get(name="Wholesale")
    assert group.discount_percent == Decimal("12.50")
    assert duplicate.status_code == 400
    assert "already called" in duplicate.content.decode()


def test_group_form_refuses_a_discount_over_100(owner_client, store):
    group = CustomerGroupFactory(store=store, name="Trade", discount_percent=Decimal("5"))

    response = owner_client.post(
        url("customer_group", store, group.pk), {"name": "Trade", "discount_percent": "150"}
    )

    assert response.status_code == 400
    group.refresh_from_db()
    assert group.discount_percent == Decimal("5")


def test_group_edit_renames_and_sets_the_discount(owner_client, store):
    group = CustomerGroupFactory(store=store, name="Trade")

    response = owner_client.post(
        url("customer_group", store, group.pk), {"name": "Resellers", "discount_percent": "20"}
    )

    assert response.status_code == 302
    group.refresh_from_db()
    assert (group.name, group.discount_percent) == ("Resellers", Decimal("20"))


def test_group_delete_page_moves_members_to_standard(owner_client, store):
    group = CustomerGroupFactory(store=store, name="Trade")
    member = CustomerFactory(store=store, group=group)

    confirm = owner_client.get(url("customer_group_delete", store, group.pk))
    response = owner_client.post(url("customer_group_delete", store, group.pk))

    assert "moves to the group “Standard”" in confirm.content.decode()
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.group.kind == GroupKind.STANDARD


def test_deleting_a_default_group_through_the_page_is_refused(owner_client, store):
    guests = CustomerGroup.objects.get(store=store, kind=GroupKind.GUESTS)

    response = owner_client.post(url("customer_group_delete", store, guests.pk), follow=True)

    assert "cannot be deleted" in response.content.decode()
    assert CustomerGroup.objects.filter(pk=guests.pk).exists()


def test_tag_rename_to_a_taken_name_offers_the_merge(owner_client, store):
    tag = CustomerTagFactory(store=store, name="vip")
    gold = CustomerTagFactory(store=store, name="gold")

    response = owner_client.post(url("customer_tag", store, tag.pk), {"name": "Gold"})

    assert response.status_code == 400
    assert "Merge" in response.content.decode()
    assert response.context["merge_form"].initial["target"] == gold
    tag.refresh_from_db()
    assert tag.name == "vip"


def test_tag_merge_and_delete_through_the_pages(owner_client, store):
    vip = CustomerTagFactory(store=store, name="vip")
    gold = CustomerTagFactory(store=store, name="gold")
    customer = CustomerFactory(store=store)
    TaggedCustomerFactory(store=store, content_object=customer, tag=vip)
    TaggedCustomerFactory(store=store, content_object=customer, tag=gold)

    merged = owner_client.post(url("customer_tag_merge", store, vip.pk), {"target": gold.pk})
    deleted = owner_client.post(url("customer_tag_delete", store, gold.pk))

    assert merged.status_code == deleted.status_code == 302
    assert not CustomerTag.objects.exists()
    assert not TaggedCustomer.objects.exists()


def test_tag_merge_form_refuses_another_stores_tag(owner_client, store, other_store, unscoped):
    vip = CustomerTagFactory(store=store, name="vip")
    foreign = CustomerTagFactory(store=other_store, name="gold")

    response = owner_client.post(url("customer_tag_merge", store, vip.pk), {"target": foreign.pk})

    assert response.status_code == 400
    assert CustomerTag.objects.filter(pk=vip.pk).exists()


def test_custom_field_add_edit_move_and_delete(owner_client, store):
    owner_client.post(
        url("custom_field_create", store),
        {"label": "Size", "field_type": "choice", "choices": "S\nM\n"},
    )
    owner_client.post(
        url("custom_field_create", store), {"label": "Birthday", "field_type": "date"}
    )
    size = CustomField.objects.get(key="size")
    birthday = CustomField.objects.get(key="birthday")
    customer = CustomerFactory(store=store, custom_fields={"size": "M", "birthday": "1990-01-01"})

    edited = owner_client.post(
        url("custom_field", store, size.pk),
        {"label": "Shirt size", "field_type": "choice", "choices": "S\nM\nL"},
    )
    owner_client.post(url("custom_field_move", store, birthday.pk), {"direction": "up"})
    deleted = owner_client.post(url("custom_field_delete", store, size.pk))

    assert edited.status_code == 302
    assert deleted.status_code == 302
    assert list(CustomField.objects.values_list("key", flat=True)) == ["birthday"]
    customer.refresh_from_db()
    assert customer.custom_fields == {"birthday": "1990-01-01"}


def test_custom_field_type_change_with_values_is_refused_on_the_page(owner_client, store):
    field = CustomFieldFactory(store=store, key="age", label="Age")
    CustomerFactory(store=store, custom_fields={"age": "forty"})

    response = owner_client.post(
        url("custom_field", store, field.pk), {"label": "Age", "field_type": "number"}
    )

    assert response.status_code == 400
    assert "cannot change" in response.content.decode()
    field.refresh_from_db()
    assert field.field_type == CustomFieldType.TEXT


def test_a_choice_field_without_choices_is_refused_on_the_page(owner_client, store):
    response = owner_client.post(
        url("custom_field_create", store), {"label": "Size", "field_type": "choice", "choices": ""}
    )

    assert response.status_code == 400
    assert "at least one choice" in response.content.decode()
    assert not CustomField.objects.exists()


# --- Roles ----------------------------------------------------------------------------


def write_requests(store):
    group = CustomerGroupFactory(store=store)
    tag = CustomerTagFactory(store=store)
    other_tag = CustomerTagFactory(store=store)
    doomed_tag = CustomerTagFactory(store=store)
    field = CustomFieldFactory(store=store)
    return [
        (url("customer_group_create", store), {"name": "X", "discount_percent": "1"}),
        (url("customer_group", store, group.pk), {"name": "Y", "discount_percent": "1"}),
        (url("customer_group_delete", store, group.pk), {}),
        (url("customer_tag_create", store), {"name": "new"}),
        (url("customer_tag", store, tag.pk), {"name": "renamed"}),
        (url("customer_tag_merge", store, tag.pk), {"target": other_tag.pk}),
        (url("customer_tag_delete", store, doomed_tag.pk), {}),
        (url("custom_field_create", store), {"label": "L", "field_type": "text"}),
        (url("custom_field", store, field.pk), {"label": "L2", "field_type": "text"}),
        (url("custom_field_move", store, field.pk), {"direction": "down"}),
        (url("custom_field_delete", store, field.pk), {}),
    ]


def test_support_sees_the_pages_but_every_write_is_403(client_as, store, support):
    client = client_as(support)
    requests = write_requests(store)

    for page in ("customer_groups", "customer_tags", "custom_fields"):
        response = client.get(url(page, store))
        assert response.status_code == 200
        assert b'method="post" action' not in response.content  # no forms to write
    for address, data in requests:
        assert client.post(address, data).status_code == 403, address

    assert CustomerGroup.objects.count() == 3
    assert CustomerTag.objects.count() == 3
    assert CustomField.objects.count() == 1


def test_the_manager_may_write(client_as, store, manager):
    client = client_as(manager)

    for address, data in write_requests(store):
        assert client.post(address, data).status_code in (302, 400), address


# --- Foreign ids ----------------------------------------------------------------------


def test_another_stores_ids_are_404(owner_client, store, other_store, unscoped):
    group = CustomerGroupFactory(store=other_store)
    tag = CustomerTagFactory(store=other_store)
    field = CustomFieldFactory(store=other_store)
    member = CustomerFactory(store=other_store, group=group)

    for name, pk in [
        ("customer_group", group.pk),
        ("customer_group_delete", group.pk),
        ("customer_tag", tag.pk),
        ("customer_tag_merge", tag.pk),
        ("customer_tag_delete", tag.pk),
        ("custom_field", field.pk),
        ("custom_field_move", field.pk),
        ("custom_field_delete", field.pk),
    ]:
        assert owner_client.post(url(name, store, pk), {"name": "x"}).status_code == 404, name

    assert CustomerGroup.objects.filter(pk=group.pk).exists()
    assert Customer.objects.get(pk=member.pk).group_id == group.pk


# --- Big deletions run as a job -------------------------------------------------------


def test_deleting_a_big_group_runs_as_a_job(
    owner_client, store, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("customers.services.groups.GROUP_DELETE_INLINE_MAX", 2)
    group = CustomerGroupFactory(store=store, name="Trade")
    members = CustomerFactory.create_batch(3, store=store, group=group)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("customer_group_delete", store, group.pk))

    job = Job.objects.get(kind="customers.group_delete")
    assert response["Location"] == url("job", store, job.pk)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert "3 customers moved" in job.message
    assert not CustomerGroup.objects.filter(pk=group.pk).exists()
    assert {c.group.kind for c in Customer.objects.filter(pk__in=[m.pk for m in members])} == {
        GroupKind.STANDARD
    }
    assert job_execute(job.pk).status == JobStatus.SUCCEEDED  # running it again is harmless


def test_a_default_group_is_refused_before_any_job_starts(owner_client, store, monkeypatch):
    monkeypatch.setattr("customers.services.groups.GROUP_DELETE_INLINE_MAX", 0)
    standard = CustomerGroup.objects.get(store=store, kind=GroupKind.STANDARD)
    CustomerFactory(store=store, group=standard)

    response = owner_client.post(url("customer_group_delete", store, standard.pk), follow=True)

    assert "cannot be deleted" in response.content.decode()
    assert not Job.objects.exists()


def test_deleting_a_field_with_many_values_runs_as_a_job(
    owner_client, store, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("customers.services.custom_fields.CUSTOM_FIELD_DELETE_INLINE_MAX", 1)
    field = CustomFieldFactory(store=store, key="size", label="Size")
    customers = CustomerFactory.create_batch(
        2, store=store, custom_fields={"size": "L", "colour": "red"}
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("custom_field_delete", store, field.pk))

    job = Job.objects.get(kind="customers.custom_field_delete")
    assert response["Location"] == url("job", store, job.pk)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert not CustomField.objects.exists()
    for customer in customers:
        customer.refresh_from_db()
        assert customer.custom_fields == {"colour": "red"}
