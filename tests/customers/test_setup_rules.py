"""Rules of the groups, tags and custom-fields pages: tag names without commas, counts in
singular and plural, the default groups' own names, discounts, locked field types, field
keys, narrow screens."""

import re
from decimal import Decimal

import pytest
from django.utils import translation

from customers.models import (
    ActivityEvent,
    CustomerGroup,
    CustomerTag,
    CustomField,
    CustomFieldType,
    GroupKind,
)
from customers.services.custom_fields import (
    custom_field_create,
    custom_field_update,
    reserved_field_keys,
)
from customers.services.groups import (
    discount_display,
    discount_normalised,
    group_create,
    group_discount_set,
    group_rename,
)
from customers.services.tags import TagLimitExceeded, tag_create, tag_merge, tag_rename
from storefront_crm.errors import ServiceError
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


def default_group(store, kind):
    return CustomerGroup.objects.get(store=store, kind=kind)


# --- 1. Commas in tag names -----------------------------------------------------------


@pytest.mark.parametrize("name", ["QA x, y", "a,b", ","])
def test_a_tag_name_with_a_comma_is_refused_on_create(store, owner, name):
    with pytest.raises(ServiceError, match="cannot contain a comma") as error:
        tag_create(store=store, actor=owner, name=name)

    assert error.value.field == "name"
    assert not CustomerTag.objects.exists()


def test_a_rename_to_a_name_with_a_comma_is_refused(store, owner):
    tag = CustomerTagFactory(store=store, name="vip")

    with pytest.raises(ServiceError, match="cannot contain a comma") as error:
        tag_rename(store=store, actor=owner, tag=tag, name="QA x, y")

    assert error.value.field == "name"
    tag.refresh_from_db()
    assert tag.name == "vip"


def test_merging_into_a_tag_whose_name_has_a_comma_is_refused(store, owner):
    source = CustomerTagFactory(store=store, name="vip")
    legacy = CustomerTagFactory(store=store, name="QA x, y")  # made before the rule
    TaggedCustomerFactory(store=store, tag=source)

    with pytest.raises(ServiceError, match="cannot contain a comma") as error:
        tag_merge(store=store, actor=owner, source=source, target=legacy)

    assert error.value.field == "target"
    assert CustomerTag.objects.filter(pk=source.pk).exists()


def test_the_tags_page_refuses_a_comma_with_the_reason(owner_client, store):
    response = owner_client.post(url("customer_tag_create", store), {"name": "QA x, y"})

    assert response.status_code == 400
    assert "cannot contain a comma" in response.content.decode()
    assert not CustomerTag.objects.exists()


# --- 2. One customer, many customers --------------------------------------------------


def test_deleting_a_tag_of_one_customer_says_customer(owner_client, store):
    tag = CustomerTagFactory(store=store, name="vip")
    TaggedCustomerFactory(store=store, tag=tag)

    page = owner_client.post(url("customer_tag_delete", store, tag.pk), follow=True)

    assert "taken off 1 customer." in page.content.decode()
    assert "1 customers" not in page.content.decode()


def test_merging_a_tag_of_one_customer_says_customer(owner_client, store):
    source = CustomerTagFactory(store=store, name="vip")
    target = CustomerTagFactory(store=store, name="gold")
    TaggedCustomerFactory(store=store, tag=source)

    page = owner_client.post(
        url("customer_tag_merge", store, source.pk), {"target": target.pk}, follow=True
    )

    assert "1 customer gained the tag" in page.content.decode()


def test_a_type_change_refused_for_one_customer_says_customer(store, owner):
    field = CustomFieldFactory(store=store, key="qa_text", label="QA Text")
    CustomerFactory(store=store, custom_fields={"qa_text": "x"})

    with pytest.raises(ServiceError) as error:
        custom_field_update(
            store=store, actor=owner, field=field, label="QA Text", field_type="number"
        )

    assert error.value.message.startswith("1 customer has a value for “QA Text”")


def test_a_choice_in_use_by_one_customer_says_customer(store, owner):
    field = CustomFieldFactory(
        store=store, key="colour", field_type=CustomFieldType.CHOICE, choices=["Green", "Red"]
    )
    CustomerFactory(store=store, custom_fields={"colour": "Green"})

    with pytest.raises(ServiceError) as error:
        custom_field_update(store=store, actor=owner, field=field, label="Colour", choices=["Red"])

    assert error.value.message.startswith("1 customer has one of the choices “Green”")


def test_the_tag_limit_of_one_new_tag_is_told_in_the_right_number(store, owner, settings):
    settings.STOREFRONT_MAX_TAGS_PER_STORE = 1
    CustomerTagFactory(store=store, name="a")

    with pytest.raises(TagLimitExceeded) as error:
        tag_create(store=store, actor=owner, name="b")

    assert "at most 1 tag and" in error.value.message
    assert "1 more" not in error.value.message
    assert error.value.field == "name"


def test_the_tags_page_counts_tags_in_the_right_number(owner_client, store, settings):
    settings.STOREFRONT_MAX_TAGS_PER_STORE = 1
    CustomerTagFactory(store=store, name="a")

    page = owner_client.get(url("customer_tags", store)).content.decode()

    assert "1 of 1 tag<" in page
    assert "limit of 1 tag:" in page


# --- 3. The default groups' own names -------------------------------------------------


@pytest.fixture
def renamed_defaults(store, owner):
    group_rename(
        store=store, actor=owner, group=default_group(store, GroupKind.GUESTS), name="Walk-ins"
    )
    group_rename(
        store=store, actor=owner, group=default_group(store, GroupKind.STANDARD), name="Members"
    )


@pytest.mark.usefixtures("renamed_defaults")
def test_the_groups_page_names_the_renamed_defaults(owner_client, store):
    page = owner_client.get(url("customer_groups", store)).content.decode()

    assert "new guest customers join “Walk-ins”, registered ones “Members”" in page
    assert "moves its members to “Members”" in page
    assert "join Guests" not in page


@pytest.mark.usefixtures("renamed_defaults")
def test_deleting_a_group_names_the_renamed_standard_group(owner_client, store):
    group = CustomerGroupFactory(store=store, name="Trade")
    CustomerFactory(store=store, group=group)

    confirm = owner_client.get(url("customer_group_delete", store, group.pk)).content.decode()
    done = owner_client.post(url("customer_group_delete", store, group.pk), follow=True)

    assert "moves to the group “Members”" in confirm
    assert "its members moved to “Members”" in done.content.decode()


@pytest.mark.usefixtures("renamed_defaults")
def test_a_group_deletion_job_names_the_renamed_standard_group(
    owner_client, store, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("customers.services.groups.GROUP_DELETE_INLINE_MAX", 0)
    group = CustomerGroupFactory(store=store, name="Trade")
    CustomerFactory(store=store, group=group)

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url("customer_group_delete", store, group.pk))

    job = Job.objects.get(kind="customers.group_delete")
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.message == "Group “Trade” deleted; 1 customer moved to “Members”."


# --- 4. Discounts without trailing zeros, in the reader's language --------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [("12.50", "12.5"), ("10.00", "10"), ("0.00", "0"), ("100", "100"), ("0.05", "0.05")],
)
def test_discounts_are_normalised(value, normalised):
    assert discount_normalised(Decimal(value)) == normalised


def test_discounts_are_shown_in_the_active_language():
    with translation.override("de"):
        assert discount_display(Decimal("12.50")) == "12,5"
        assert discount_display("10.00") == "10"
    with translation.override("en"):
        assert discount_display(Decimal("12.50")) == "12.5"


def test_the_groups_list_shows_normalised_localised_discounts(owner_client, store):
    CustomerGroupFactory(store=store, name="Trade", discount_percent=Decimal("12.50"))
    CustomerGroupFactory(store=store, name="VIP", discount_percent=Decimal("10.00"))

    english = owner_client.get(url("customer_groups", store)).content.decode()
    german = owner_client.get(
        url("customer_groups", store), HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()

    assert "12.5&nbsp;%" in english
    assert "10&nbsp;%" in english
    assert "12.50" not in english
    assert "12,5&nbsp;%" in german


def test_discount_events_store_a_normalised_value(store, owner):
    group = group_create(store=store, actor=owner, name="Trade", discount_percent="5.00")
    group_discount_set(store=store, actor=owner, group=group, discount_percent="12.50")

    created = ActivityEvent.objects.get(store=store, verb="group.created")
    changed = ActivityEvent.objects.get(store=store, verb="group.discount_set")
    assert created.data["discount_percent"] == "5"
    assert changed.data["discount_percent"] == ["5", "12.5"]


# --- 5. The duplicate group name names the existing group -----------------------------


def test_a_duplicate_group_name_names_the_existing_group(store, owner):
    group_create(store=store, actor=owner, name="QA Group")

    with pytest.raises(ServiceError) as error:
        group_create(store=store, actor=owner, name="qa group")

    assert "already called “QA Group”" in error.value.message


# --- 6. The type select is disabled while customers have values -----------------------


def type_select(page: str) -> str:
    return re.search(r"<select[^>]*name=\"field_type\"[^>]*>", page)[0]


def test_the_type_select_is_disabled_while_customers_have_values(owner_client, store):
    used = CustomFieldFactory(store=store, key="age", label="Age")
    unused = CustomFieldFactory(store=store, key="size", label="Size")
    CustomerFactory(store=store, custom_fields={"age": "forty"})

    used_page = owner_client.get(url("custom_field", store, used.pk)).content.decode()
    unused_page = owner_client.get(url("custom_field", store, unused.pk)).content.decode()

    assert "disabled" in type_select(used_page)
    assert "disabled" not in type_select(unused_page)


def test_a_locked_type_is_kept_when_the_disabled_select_sends_nothing(owner_client, store):
    field = CustomFieldFactory(
        store=store,
        key="colour",
        label="Colour",
        field_type=CustomFieldType.CHOICE,
        choices=["Red"],
    )
    CustomerFactory(store=store, custom_fields={"colour": "Red"})

    response = owner_client.post(
        url("custom_field", store, field.pk), {"label": "Colour", "choices": "Red\nBlue"}
    )

    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.field_type, field.choices) == (CustomFieldType.CHOICE, ["Red", "Blue"])


def test_a_type_change_sent_anyway_is_still_refused(owner_client, store):
    field = CustomFieldFactory(store=store, key="age", label="Age")
    CustomerFactory(store=store, custom_fields={"age": "forty"})

    response = owner_client.post(
        url("custom_field", store, field.pk), {"label": "Age", "field_type": "number"}
    )

    assert response.status_code == 400
    assert "cannot change" in response.content.decode()
    field.refresh_from_db()
    assert field.field_type == CustomFieldType.TEXT


# --- 7. Field keys --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Über größe", "uber_grosse"),
        ("Æble Øl", "aeble_ol"),
        ("Œuvre Łódź", "oeuvre_lodz"),
        ("Đak", "dak"),
        ("Café crème", "cafe_creme"),
    ],
)
def test_field_keys_keep_letters(store, owner, label, key):
    field = custom_field_create(store=store, actor=owner, label=label, field_type="text")

    assert field.key == key


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Email", "email_2"),
        ("First name", "first_name_2"),
        ("Tags", "tags_2"),
        ("Group", "group_2"),
        ("Total Spent", "total_spent_2"),
        ("Shipping address", "shipping_address_3"),  # "Shipping Address 2" is a header too
    ],
)
def test_a_field_key_never_takes_a_built_in_name(store, owner, label, key):
    field = custom_field_create(store=store, actor=owner, label=label, field_type="text")

    assert field.key == key
    assert field.key not in reserved_field_keys()


def test_the_reserved_keys_cover_columns_and_headers():
    assert {"email", "first_name", "tags", "group", "tag_names", "vat_id", "id"} <= (
        reserved_field_keys()
    )
    assert "shoe_size" not in reserved_field_keys()


# --- 8. Tables scroll sideways on a narrow screen -------------------------------------


@pytest.mark.parametrize("page", ["customer_groups", "customer_tags", "custom_fields"])
def test_the_setup_tables_sit_in_a_scrollable_container(owner_client, store, page):
    CustomerTagFactory(store=store, name="vip")
    CustomFieldFactory(store=store, key="size", label="Size")

    html = owner_client.get(url(page, store)).content.decode()

    assert re.search(r'<div class="table-scroll"[^>]*>\s*<table>', html)
    assert not CustomField.objects.filter(key="email").exists()


def test_a_stores_default_groups_are_named_in_its_language(unscoped):
    from customers.models import CustomerGroup, GroupKind
    from customers.services.groups import group_defaults_create
    from tests.factories import StoreFactory

    store = StoreFactory(language="de")
    group_defaults_create(store)
    names = dict(CustomerGroup.objects.filter(store=store).values_list("kind", "name"))
    assert names[GroupKind.GUESTS] == "Gäste"
