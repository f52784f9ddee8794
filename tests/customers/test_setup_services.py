"""Rules of the groups, tags and custom-fields services, each with its failure path."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from customers.models import (
    ActivityEvent,
    Customer,
    CustomerGroup,
    CustomerTag,
    CustomField,
    CustomFieldType,
    GroupKind,
    TaggedCustomer,
)
from customers.services.custom_fields import (
    custom_field_create,
    custom_field_delete,
    custom_field_move,
    custom_field_reorder,
    custom_field_update,
    custom_field_value_clean,
)
from customers.services.groups import (
    group_create,
    group_delete,
    group_discount_set,
    group_rename,
    group_update,
)
from customers.services.tags import (
    TagLimitExceeded,
    TagNameTaken,
    customer_tags_add,
    tag_delete,
    tag_merge,
    tag_rename,
    tags_ensure,
)
from storefront_crm.errors import ServiceError
from tests.factories import (
    CustomerFactory,
    CustomerGroupFactory,
    CustomerTagFactory,
    CustomFieldFactory,
    TaggedCustomerFactory,
)

pytestmark = pytest.mark.django_db


def default_group(store, kind):
    return CustomerGroup.objects.get(store=store, kind=kind)


# --- Groups ---------------------------------------------------------------------------


def test_group_create_stores_a_custom_group_with_a_decimal_discount(store, owner):
    group = group_create(store=store, actor=owner, name="  Wholesale  ", discount_percent="12.5")

    assert group.name == "Wholesale"
    assert group.kind == GroupKind.CUSTOM
    assert group.discount_percent == Decimal("12.50")
    assert ActivityEvent.objects.filter(store=store, verb="group.created").exists()


@pytest.mark.parametrize("name", ["standard", "STANDARD", "Standard "])
def test_group_names_are_unique_per_store_whatever_the_case(store, owner, name):
    with pytest.raises(ServiceError, match="already called") as error:
        group_create(store=store, actor=owner, name=name)

    assert error.value.field == "name"


def test_the_same_group_name_is_fine_in_another_store(store, other_store, owner, unscoped):
    group = group_create(store=other_store, actor=owner, name="Standard VIP")
    assert group.store == other_store
    assert group_create(store=store, actor=owner, name="Standard VIP").store == store


def test_group_name_cannot_be_empty(store, owner):
    with pytest.raises(ServiceError, match="Enter a name"):
        group_create(store=store, actor=owner, name="   ")


@pytest.mark.parametrize(
    "discount", ["-1", "100.01", "abc", "NaN", "Infinity", "1.234", None, True]
)
def test_group_discount_must_be_0_to_100_with_two_decimals(store, owner, discount):
    group = CustomerGroupFactory(store=store, discount_percent=Decimal("5"))

    with pytest.raises(ServiceError) as error:
        group_discount_set(store=store, actor=owner, group=group, discount_percent=discount)

    assert error.value.field == "discount_percent"
    group.refresh_from_db()
    assert group.discount_percent == Decimal("5")


@pytest.mark.parametrize(
    "discount, stored",
    [("0", Decimal("0")), (Decimal("100"), Decimal("100")), (7.5, Decimal("7.5"))],
)
def test_group_discount_set_accepts_the_bounds(store, owner, discount, stored):
    group = CustomerGroupFactory(store=store)

    group_discount_set(store=store, actor=owner, group=group, discount_percent=discount)

    group.refresh_from_db()
    assert group.discount_percent == stored


def test_group_rename_refuses_another_groups_name_but_allows_a_case_change(store, owner):
    group = CustomerGroupFactory(store=store, name="Wholesale")
    CustomerGroupFactory(store=store, name="Retail")

    with pytest.raises(ServiceError, match="already called"):
        group_rename(store=store, actor=owner, group=group, name="retail")
    renamed = group_rename(store=store, actor=owner, group=group, name="WHOLESALE")

    assert renamed.name == "WHOLESALE"


def test_default_groups_can_be_renamed_but_keep_their_kind(store, owner):
    guests = default_group(store, GroupKind.GUESTS)

    group_rename(store=store, actor=owner, group=guests, name="Visitors")

    guests.refresh_from_db()
    assert (guests.name, guests.kind) == ("Visitors", GroupKind.GUESTS)


def test_group_update_changes_nothing_when_the_discount_is_invalid(store, owner):
    group = CustomerGroupFactory(store=store, name="Wholesale", discount_percent=Decimal("5"))

    with pytest.raises(ServiceError):
        group_update(store=store, actor=owner, group=group, name="Trade", discount_percent="300")

    group.refresh_from_db()
    assert group.name == "Wholesale"


@pytest.mark.parametrize("kind", [GroupKind.GUESTS, GroupKind.STANDARD])
def test_default_groups_cannot_be_deleted(store, owner, kind):
    group = default_group(store, kind)
    CustomerFactory(store=store, group=group)

    with pytest.raises(ServiceError, match="cannot be deleted"):
        group_delete(store=store, actor=owner, group=group)

    assert CustomerGroup.objects.filter(pk=group.pk).exists()


def test_group_delete_moves_members_to_standard_with_an_event_each(store, owner, monkeypatch):
    monkeypatch.setattr("customers.services.groups.GROUP_MOVE_BATCH", 2)  # several batches
    group = CustomerGroupFactory(store=store, name="Wholesale")
    members = CustomerFactory.create_batch(5, store=store, group=group)
    bystander = CustomerFactory(store=store)
    standard = default_group(store, GroupKind.STANDARD)

    moved = group_delete(store=store, actor=owner, group=group)

    assert moved == 5
    assert not CustomerGroup.objects.filter(pk=group.pk).exists()
    assert set(Customer.objects.filter(group=standard).values_list("pk", flat=True)) == {
        member.pk for member in members
    }
    bystander.refresh_from_db()
    assert bystander.group.kind == GroupKind.GUESTS
    events = ActivityEvent.objects.filter(store=store, customer__in=members)
    assert events.count() == 5
    event = events.first()
    assert event.actor == owner
    assert event.data["changes"]["group"] == ["Wholesale", standard.name]
    summary = ActivityEvent.objects.get(store=store, verb="group.deleted")
    assert summary.data["moved"] == 5


def test_group_services_refuse_another_stores_group(store, other_store, owner, unscoped):
    foreign = CustomerGroupFactory(store=other_store)

    with pytest.raises(ServiceError, match="does not exist"):
        group_delete(store=store, actor=owner, group=foreign)
    with pytest.raises(ServiceError, match="does not exist"):
        group_rename(store=store, actor=owner, group=foreign, name="Mine")


# --- Tags -----------------------------------------------------------------------------


def test_tag_rename_changes_name_and_slug(store, owner):
    tag = CustomerTagFactory(store=store, name="vip")

    tag_rename(store=store, actor=owner, tag=tag, name="  Very  important ")

    tag.refresh_from_db()
    assert (tag.name, tag.slug) == ("Very important", "very-important")


def test_tag_rename_to_another_tags_name_is_refused_and_suggests_a_merge(store, owner):
    tag = CustomerTagFactory(store=store, name="vip")
    other = CustomerTagFactory(store=store, name="Gold")

    with pytest.raises(TagNameTaken, match="Merge") as error:
        tag_rename(store=store, actor=owner, tag=tag, name="gold")

    assert error.value.details["other"] == other
    tag.refresh_from_db()
    assert tag.name == "vip"


def test_tag_rename_refuses_an_empty_name(store, owner):
    tag = CustomerTagFactory(store=store)
    with pytest.raises(ServiceError, match="Enter a name"):
        tag_rename(store=store, actor=owner, tag=tag, name=" ")


def test_tag_merge_repoints_links_without_duplicates_and_deletes_the_source(store, owner):
    source = CustomerTagFactory(store=store, name="vip")
    target = CustomerTagFactory(store=store, name="gold")
    only_source = CustomerFactory(store=store)
    both = CustomerFactory(store=store)
    only_target = CustomerFactory(store=store)
    for customer, tag in [
        (only_source, source),
        (both, source),
        (both, target),
        (only_target, target),
    ]:
        TaggedCustomerFactory(store=store, content_object=customer, tag=tag)

    moved = tag_merge(store=store, actor=owner, source=source, target=target)

    assert moved == 1
    assert not CustomerTag.objects.filter(pk=source.pk).exists()
    links = TaggedCustomer.objects.filter(store=store).values_list("content_object_id", "tag_id")
    assert sorted(links) == sorted(
        [(only_source.pk, target.pk), (both.pk, target.pk), (only_target.pk, target.pk)]
    )
    assert ActivityEvent.objects.get(verb="tag.merged").data["already_tagged"] == 1


def test_a_tag_cannot_be_merged_into_itself(store, owner):
    tag = CustomerTagFactory(store=store)
    with pytest.raises(ServiceError, match="itself"):
        tag_merge(store=store, actor=owner, source=tag, target=tag)


def test_tag_merge_refuses_another_stores_tag(store, other_store, owner, unscoped):
    mine = CustomerTagFactory(store=store)
    foreign = CustomerTagFactory(store=other_store)

    with pytest.raises(ServiceError, match="does not exist"):
        tag_merge(store=store, actor=owner, source=mine, target=foreign)

    assert CustomerTag.objects.filter(pk=mine.pk).exists()


def test_tag_delete_takes_the_tag_off_every_customer(store, owner):
    tag = CustomerTagFactory(store=store)
    kept = CustomerTagFactory(store=store)
    customer = CustomerFactory(store=store)
    TaggedCustomerFactory(store=store, content_object=customer, tag=tag)
    TaggedCustomerFactory(store=store, content_object=customer, tag=kept)
    TaggedCustomerFactory(store=store, tag=tag)

    removed = tag_delete(store=store, actor=owner, tag=tag)

    assert removed == 2
    assert list(customer.tags.all()) == [kept]
    assert not CustomerTag.objects.filter(pk=tag.pk).exists()


def test_the_tag_limit_is_enforced_on_creation(store, owner, settings):
    settings.STOREFRONT_MAX_TAGS_PER_STORE = 3
    tags_ensure(store=store, names=["a", "b", "c"])
    customer = CustomerFactory(store=store)

    with pytest.raises(TagLimitExceeded):
        tags_ensure(store=store, names=["d"])
    with pytest.raises(TagLimitExceeded):
        customer_tags_add(store=store, customer=customer, names=["e"])
    tag_merge(
        store=store,
        actor=owner,
        source=CustomerTag.objects.get(name="a"),
        target=CustomerTag.objects.get(name="b"),
    )
    assert [tag.name for tag in tags_ensure(store=store, names=["d"])] == ["d"]


# --- Custom fields --------------------------------------------------------------------


def field(store, field_type, **kwargs):
    return CustomFieldFactory(store=store, label="Shoe size", field_type=field_type, **kwargs)


@pytest.mark.parametrize(
    "raw, value",
    [(" 42 ", "42"), ("Hello", "Hello"), (12, "12"), ("", None), ("  ", None), (None, None)],
)
def test_text_values(store, raw, value):
    assert custom_field_value_clean(field(store, CustomFieldType.TEXT), raw) == value


def test_text_values_have_a_length_limit(store):
    with pytest.raises(ServiceError, match="at most 500") as error:
        custom_field_value_clean(field(store, CustomFieldType.TEXT, key="note"), "x" * 501)
    assert error.value.field == "note"


@pytest.mark.parametrize(
    "raw, value",
    [
        ("42", 42),
        ("-3.5", -3.5),
        (" 1e3 ", 1000),
        (Decimal("2.50"), 2.5),
        (7, 7),
        (0.25, 0.25),
        ("0", 0),
        ("", None),
    ],
)
def test_number_values(store, raw, value):
    cleaned = custom_field_value_clean(field(store, CustomFieldType.NUMBER), raw)
    assert cleaned == value
    assert type(cleaned) is type(value)


def test_number_values_take_the_languages_decimal_comma(store):
    number = field(store, CustomFieldType.NUMBER)
    with translation.override("de"):
        assert custom_field_value_clean(number, "1,5") == 1.5
        assert custom_field_value_clean(number, "1.5") == 1.5
    with translation.override("en"), pytest.raises(ServiceError, match="not a number"):
        custom_field_value_clean(number, "1,5")


@pytest.mark.parametrize("raw", ["abc", "NaN", "inf", True, False, "1234567890.1234567", "12 kg"])
def test_number_values_refuse_what_is_not_a_finite_number(store, raw):
    with pytest.raises(ServiceError, match="Shoe size"):
        custom_field_value_clean(field(store, CustomFieldType.NUMBER), raw)


@pytest.mark.parametrize(
    "raw, value",
    [
        ("2024-03-31", "2024-03-31"),
        (datetime.date(2024, 3, 31), "2024-03-31"),
        (datetime.datetime(2024, 3, 31, 23, 0), "2024-03-31"),
        (" 2024-03-31 ", "2024-03-31"),
        ("", None),
    ],
)
def test_date_values(store, raw, value):
    assert custom_field_value_clean(field(store, CustomFieldType.DATE), raw) == value


def test_date_values_take_the_languages_input_format(store):
    with translation.override("de"):
        assert custom_field_value_clean(field(store, CustomFieldType.DATE), "31.03.2024") == (
            "2024-03-31"
        )


@pytest.mark.parametrize("raw", ["2024-02-30", "tomorrow", "31/31/2024", 20240331])
def test_date_values_refuse_what_is_not_a_date(store, raw):
    with pytest.raises(ServiceError, match="not a date"):
        custom_field_value_clean(field(store, CustomFieldType.DATE), raw)


@pytest.mark.parametrize(
    "raw, value",
    [
        (True, True),
        (False, False),
        ("yes", True),
        ("No", False),
        ("1", True),
        ("0", False),
        ("on", True),
        ("FALSE", False),
        ("", None),
    ],
)
def test_yes_no_values(store, raw, value):
    assert custom_field_value_clean(field(store, CustomFieldType.BOOLEAN), raw) is value


def test_yes_no_values_take_the_languages_words_and_refuse_others(store):
    yes_no = field(store, CustomFieldType.BOOLEAN)
    with pytest.raises(ServiceError, match="not yes or no"):
        custom_field_value_clean(yes_no, "maybe")


def test_choice_values_are_one_of_the_choices_as_defined(store):
    size = field(store, CustomFieldType.CHOICE, choices=["Small", "Large"])

    assert custom_field_value_clean(size, "large") == "Large"
    assert custom_field_value_clean(size, " Small ") == "Small"
    assert custom_field_value_clean(size, "") is None
    with pytest.raises(ServiceError, match="not one of the choices"):
        custom_field_value_clean(size, "Medium")


def test_custom_field_create_derives_a_unique_key_and_places_it_last(store, owner):
    first = custom_field_create(store=store, actor=owner, label="Shoe size", field_type="number")
    second = custom_field_create(store=store, actor=owner, label="Shoe-size!", field_type="text")

    assert (first.key, first.position) == ("shoe_size", 0)
    assert (second.key, second.position) == ("shoe_size_2", 1)


def test_custom_field_labels_are_unique_whatever_the_case(store, owner):
    custom_field_create(store=store, actor=owner, label="Shoe size", field_type="number")
    with pytest.raises(ServiceError, match="already called") as error:
        custom_field_create(store=store, actor=owner, label="shoe SIZE", field_type="text")
    assert error.value.field == "label"


def test_custom_field_create_validates_type_and_choices(store, owner):
    with pytest.raises(ServiceError) as error:
        custom_field_create(store=store, actor=owner, label="Size", field_type="colour")
    assert error.value.field == "field_type"
    with pytest.raises(ServiceError, match="at least one choice"):
        custom_field_create(
            store=store, actor=owner, label="Size", field_type="choice", choices=[" "]
        )

    size = custom_field_create(
        store=store, actor=owner, label="Size", field_type="choice", choices=["S", " M ", "s", "L"]
    )
    text = custom_field_create(
        store=store, actor=owner, label="Notes", field_type="text", choices=["ignored"]
    )

    assert size.choices == ["S", "M", "L"]
    assert text.choices == []


def test_custom_field_update_changes_label_and_adds_choices(store, owner):
    size = field(store, CustomFieldType.CHOICE, choices=["S", "M"], key="size")
    CustomerFactory(store=store, custom_fields={"size": "S"})

    custom_field_update(store=store, actor=owner, field=size, label="Size", choices=["S", "M", "L"])

    size.refresh_from_db()
    assert (size.key, size.label, size.choices) == ("size", "Size", ["S", "M", "L"])


def test_custom_field_update_refuses_removing_a_choice_in_use(store, owner):
    size = field(store, CustomFieldType.CHOICE, choices=["S", "M"], key="size")
    CustomerFactory(store=store, custom_fields={"size": "M"})

    with pytest.raises(ServiceError, match="1 customer has") as error:
        custom_field_update(store=store, actor=owner, field=size, label="Size", choices=["S"])
    custom_field_update(store=store, actor=owner, field=size, label="Size", choices=["M", "XL"])

    assert error.value.field == "choices"
    size.refresh_from_db()
    assert size.choices == ["M", "XL"]


def test_custom_field_type_changes_only_while_no_customer_has_a_value(store, owner):
    age = field(store, CustomFieldType.TEXT, key="age")
    colour = CustomFieldFactory(store=store, label="Colour", key="colour")
    CustomerFactory(store=store, custom_fields={"age": "42"})

    with pytest.raises(ServiceError, match="cannot change") as error:
        custom_field_update(store=store, actor=owner, field=age, label="Age", field_type="number")
    custom_field_update(
        store=store, actor=owner, field=colour, label="Colour", field_type="choice", choices=["Red"]
    )

    assert error.value.field == "field_type"
    age.refresh_from_db()
    colour.refresh_from_db()
    assert age.field_type == CustomFieldType.TEXT
    assert (colour.field_type, colour.choices) == (CustomFieldType.CHOICE, ["Red"])


def test_custom_field_delete_removes_the_values_from_every_customer_of_the_store(
    store, other_store, owner, unscoped
):
    size = field(store, CustomFieldType.TEXT, key="size")
    other = CustomFieldFactory(store=store, key="colour", label="Colour")
    with_value = CustomerFactory(store=store, custom_fields={"size": "L", "colour": "red"})
    only_size = CustomerFactory(store=store, custom_fields={"size": "M"})
    without = CustomerFactory(store=store, custom_fields={"colour": "blue"})
    foreign = CustomerFactory(store=other_store, custom_fields={"size": "S"})

    cleared = custom_field_delete(store=store, actor=owner, field=size)

    assert cleared == 2
    for customer in (with_value, only_size, without, foreign):
        customer.refresh_from_db()
    assert with_value.custom_fields == {"colour": "red"}
    assert only_size.custom_fields == {}
    assert without.custom_fields == {"colour": "blue"}
    assert foreign.custom_fields == {"size": "S"}  # another store's key of the same name
    assert list(CustomField.objects.filter(store=store)) == [other]
    other.refresh_from_db()
    assert other.position == 0


def test_custom_fields_move_up_and_down_and_stay_at_the_ends(store, owner):
    a, b, c = (
        custom_field_create(store=store, actor=owner, label=label, field_type="text")
        for label in "ABC"
    )

    custom_field_move(store=store, actor=owner, field=c, offset=-1)
    custom_field_move(store=store, actor=owner, field=a, offset=-1)

    assert list(CustomField.objects.filter(store=store)) == [a, c, b]
    custom_field_move(store=store, actor=owner, field=a, offset=1)
    assert list(CustomField.objects.filter(store=store)) == [c, a, b]


def test_custom_field_reorder_needs_every_field_exactly_once(store, owner):
    a, b = (
        custom_field_create(store=store, actor=owner, label=label, field_type="text")
        for label in "AB"
    )

    with pytest.raises(ServiceError, match="reload"):
        custom_field_reorder(store=store, actor=owner, field_ids=[b.pk])
    with pytest.raises(ServiceError, match="reload"):
        custom_field_reorder(store=store, actor=owner, field_ids=[b.pk, b.pk, a.pk])
    custom_field_reorder(store=store, actor=owner, field_ids=[b.pk, a.pk])

    assert list(CustomField.objects.filter(store=store)) == [b, a]
