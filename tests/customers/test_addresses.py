"""A customer's saved addresses: add, edit and delete by staff, through the services and
the views, with roles, field errors, one default per kind and the activity log."""

import pytest

from customers.models import ActivityEvent, Address, AddressKind
from customers.services.addresses import address_add, address_delete, address_edit
from customers.views.profile_display import event_sentence
from storefront_crm.errors import ServiceError
from tests.factories import AddressFactory, CustomerFactory, MembershipFactory
from tests.panel_urls import panel_url as url

pytestmark = pytest.mark.django_db

BERLIN = {
    "name": "Jane Doe",
    "line1": "Hauptstr. 1",
    "postal_code": "10115",
    "city": "Berlin",
    "country": "de",
}


def form_data(**changes):
    data = {"kind": "shipping", **BERLIN, "company": "", "line2": "", "region": "", "phone": ""}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --- Services -------------------------------------------------------------------------------


def test_the_first_address_of_a_kind_becomes_its_default(store, owner):
    customer = CustomerFactory(store=store)

    first = address_add(store=store, customer=customer, actor=owner, kind="shipping", **BERLIN)
    second = address_add(
        store=store, customer=customer, actor=owner, kind="shipping", **BERLIN | {"city": "Bonn"}
    )
    billing = address_add(store=store, customer=customer, actor=owner, kind="billing", **BERLIN)

    assert first.is_default and not second.is_default and billing.is_default
    assert first.country == "DE"  # upper-cased
    event = ActivityEvent.objects.filter(customer=customer, verb="address.added").first()
    assert event.actor == owner and event.data["kind"] == "billing"
    assert (
        event_sentence(event) == "Added a billing address: Jane Doe, Hauptstr. 1, 10115 Berlin, DE"
    )


def test_making_an_address_the_default_takes_it_from_the_other(store, owner):
    customer = CustomerFactory(store=store)
    old = address_add(store=store, customer=customer, actor=owner, kind="shipping", **BERLIN)
    new = address_add(
        store=store, customer=customer, actor=owner, kind="shipping", is_default=True, **BERLIN
    )

    old.refresh_from_db()
    assert new.is_default and not old.is_default

    address_edit(store=store, address=old, actor=owner, kind="shipping", is_default=True, **BERLIN)
    new.refresh_from_db()
    assert old.is_default and not new.is_default
    assert Address.objects.filter(customer=customer, is_default=True).count() == 1


def test_moving_the_default_to_the_other_kind(store, owner):
    customer = CustomerFactory(store=store)
    shipping = address_add(store=store, customer=customer, actor=owner, kind="shipping", **BERLIN)
    billing = address_add(store=store, customer=customer, actor=owner, kind="billing", **BERLIN)

    address_edit(
        store=store, address=shipping, actor=owner, kind="billing", is_default=True, **BERLIN
    )

    billing.refresh_from_db()
    assert shipping.kind == AddressKind.BILLING and shipping.is_default
    assert not billing.is_default


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("country", "XX", "“XX” is not a country code"),
        ("country", "Germany", "is not a country code"),
        ("country", "", "This field is required."),
        ("line1", "  ", "This field is required."),
        ("city", "", "This field is required."),
        ("postal_code", "1" * 21, "At most 20 characters, not 21."),
    ],
)
def test_a_broken_rule_names_its_field(store, owner, field, value, message):
    customer = CustomerFactory(store=store)

    with pytest.raises(ServiceError) as error:
        address_add(
            store=store, customer=customer, actor=owner, kind="shipping", **BERLIN | {field: value}
        )

    assert error.value.field == field and message in error.value.message
    assert not Address.objects.filter(customer=customer).exists()
    assert not ActivityEvent.objects.filter(customer=customer).exists()


def test_an_unknown_kind_is_refused(store, owner):
    with pytest.raises(ServiceError) as error:
        address_add(
            store=store, customer=CustomerFactory(store=store), actor=owner, kind="home", **BERLIN
        )
    assert error.value.field == "kind"


def test_an_edit_logs_what_changed_and_no_change_logs_nothing(store, owner):
    address = AddressFactory(store=store, **BERLIN | {"country": "DE"}, company="", phone="")
    customer = address.customer

    address_edit(
        store=store, address=address, actor=owner, kind="shipping", is_default=True, **BERLIN
    )
    assert not ActivityEvent.objects.filter(customer=customer, verb="address.edited").exists()

    address_edit(
        store=store,
        address=address,
        actor=owner,
        kind="shipping",
        is_default=False,
        **BERLIN | {"city": "Potsdam", "postal_code": "14467"},
    )

    event = ActivityEvent.objects.get(customer=customer, verb="address.edited")
    assert event.data["changes"] == {
        "is_default": ["True", "False"],
        "postal_code": ["10115", "14467"],
        "city": ["Berlin", "Potsdam"],
    }
    assert event_sentence(event) == (
        "Edited a shipping address: unset it as default; changed postal code from “10115” to "
        "“14467”; changed city from “Berlin” to “Potsdam”"
    )


def test_delete_logs_the_address_it_removed(store, owner):
    address = AddressFactory(store=store, kind="billing", **BERLIN | {"country": "DE"}, company="")
    customer = address.customer

    address_delete(store=store, address=address, actor=owner)

    assert not Address.objects.filter(customer=customer).exists()
    event = ActivityEvent.objects.get(customer=customer, verb="address.deleted")
    assert event.data["was_default"] is True
    assert (
        event_sentence(event)
        == "Deleted a billing address: Jane Doe, Hauptstr. 1, 10115 Berlin, DE"
    )


def test_a_customer_of_another_store_is_refused(store, other_store, owner, unscoped):
    foreign = CustomerFactory(store=other_store)

    with pytest.raises(ServiceError):
        address_add(store=store, customer=foreign, actor=owner, kind="shipping", **BERLIN)
    assert not Address.objects.filter(customer=foreign).exists()


# --- Views ----------------------------------------------------------------------------------


def test_add_an_address_from_the_profile(owner_client, store):
    customer = CustomerFactory(store=store)
    profile = owner_client.get(url("customer", store, customer.pk)).content.decode()
    assert url("address_create", store, customer.pk) in profile

    response = owner_client.post(
        url("address_create", store, customer.pk), form_data(kind="billing", phone="+49 30 1")
    )

    assert response.status_code == 302
    assert response["Location"] == url("customer", store, customer.pk) + "#addr-h"
    address = Address.objects.get(customer=customer)
    assert (address.kind, address.city, address.country, address.phone) == (
        "billing",
        "Berlin",
        "DE",
        "+49 30 1",
    )
    page = owner_client.get(response["Location"]).content.decode()
    assert "Address added." in page and "Hauptstr. 1" in page
    assert "Added a billing address" in page
    assert url("address_edit", store, customer.pk, address.pk) in page
    assert url("address_delete", store, customer.pk, address.pk) in page


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("country", "XX", "is not a country code"),
        ("country", "DEU", "Enter a two-letter country code"),
        ("country", "", "This field is required."),
        ("city", "", "This field is required."),
        ("kind", "home", "Select a valid choice"),
    ],
)
def test_a_wrong_value_is_shown_at_its_field(owner_client, store, field, value, message):
    customer = CustomerFactory(store=store)

    response = owner_client.post(
        url("address_create", store, customer.pk), form_data(**{field: value})
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert 'class="field-error"' in response.content.decode()
    assert not Address.objects.filter(customer=customer).exists()


def test_edit_an_address(owner_client, store):
    address = AddressFactory(store=store, **BERLIN | {"country": "DE"})
    customer = address.customer
    page = owner_client.get(url("address_edit", store, customer.pk, address.pk)).content.decode()
    assert 'value="Hauptstr. 1"' in page

    response = owner_client.post(
        url("address_edit", store, customer.pk, address.pk),
        form_data(line1="Ringstr. 9", country="at", is_default="on"),
    )

    assert response.status_code == 302
    address.refresh_from_db()
    assert (address.line1, address.country) == ("Ringstr. 9", "AT")
    assert ActivityEvent.objects.filter(customer=customer, verb="address.edited").exists()


def test_delete_asks_first(owner_client, store):
    address = AddressFactory(store=store, **BERLIN | {"country": "DE"})
    customer = address.customer

    ask = owner_client.get(url("address_delete", store, customer.pk, address.pk))
    assert ask.status_code == 200 and "Delete this address?" in ask.content.decode()
    assert Address.objects.filter(pk=address.pk).exists()

    response = owner_client.post(url("address_delete", store, customer.pk, address.pk))

    assert response.status_code == 302
    assert not Address.objects.filter(pk=address.pk).exists()
    assert ActivityEvent.objects.filter(customer=customer, verb="address.deleted").exists()


def test_an_address_of_another_customer_is_a_404(owner_client, store):
    address = AddressFactory(store=store)
    other = CustomerFactory(store=store)

    for name in ("address_edit", "address_delete"):
        assert owner_client.get(url(name, store, other.pk, address.pk)).status_code == 404
        assert owner_client.post(url(name, store, other.pk, address.pk)).status_code == 404
    assert Address.objects.filter(pk=address.pk).exists()


def test_an_address_of_another_store_is_a_404(owner_client, store, other_store, unscoped):
    foreign = AddressFactory(store=other_store)

    response = owner_client.post(
        url("address_delete", store, foreign.customer_id, foreign.pk), form_data()
    )

    assert response.status_code == 404
    assert Address.objects.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize("role, allowed", [("owner", True), ("manager", True), ("support", False)])
def test_roles_as_for_editing_the_customer(client, store, role, allowed):
    client.force_login(MembershipFactory(store=store, role=role).user)
    address = AddressFactory(store=store)
    customer = address.customer

    profile = client.get(url("customer", store, customer.pk)).content.decode()
    answers = [
        client.get(url("address_create", store, customer.pk)).status_code,
        client.post(url("address_create", store, customer.pk), form_data()).status_code,
        client.post(url("address_edit", store, customer.pk, address.pk), form_data()).status_code,
        client.post(url("address_delete", store, customer.pk, address.pk)).status_code,
    ]

    if allowed:
        assert answers == [200, 302, 302, 302]
        assert url("address_create", store, customer.pk) in profile
    else:
        assert answers == [403, 403, 403, 403]
        assert url("address_create", store, customer.pk) not in profile
        assert url("address_edit", store, customer.pk, address.pk) not in profile
        assert Address.objects.filter(customer=customer).count() == 1
