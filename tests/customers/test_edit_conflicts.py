"""Two members editing one customer: the later save over a newer version writes nothing
and shows a review (what is saved now beside the member's entry); saving the review is
deliberate and goes through. Order aggregates are not an edit and never conflict."""

from decimal import Decimal

import pytest
from django.test import Client

from customers.models import ActivityEvent, Customer
from customers.services.customers import EditConflict, customer_update
from tests.factories import CustomerFactory, MembershipFactory
from tests.panel_urls import panel_url as url

pytestmark = pytest.mark.django_db


def form_data(response) -> dict[str, str]:
    """What a browser would send back for the form of ``response``, unchanged."""
    data = {}
    for field in response.context["form"]:
        value = field.value()
        if field.widget_type == "checkbox":
            if value:
                data[field.name] = "on"
        else:
            data[field.name] = "" if value is None else str(value)
    return data


def signed_in(store) -> Client:
    client = Client()
    client.force_login(MembershipFactory(store=store, role="manager").user)
    return client


# --- The service ------------------------------------------------------------------------


def test_a_save_at_the_current_version_writes_and_moves_the_version_on(store, owner):
    customer = CustomerFactory(store=store, first_name="Anna")
    assert customer.edit_version == 0

    customer_update(
        store=store, customer=customer, actor=owner, expected_version=0, first_name="Anne"
    )

    customer.refresh_from_db()
    assert (customer.first_name, customer.edit_version) == ("Anne", 1)


def test_a_save_over_a_newer_version_is_refused_and_writes_nothing(store, owner):
    # given a profile that a colleague edited after this member loaded it at version 0
    customer = CustomerFactory(store=store, first_name="Anna", company="Old")
    customer_update(
        store=store, customer=Customer.objects.get(pk=customer.pk), actor=owner, company="New"
    )
    events_before = ActivityEvent.objects.filter(customer=customer).count()

    # when the member saves what they opened at version 0
    with pytest.raises(EditConflict) as refused:
        customer_update(
            store=store,
            customer=Customer.objects.get(pk=customer.pk),
            actor=owner,
            expected_version=0,
            first_name="Anne",
            company="Old",
        )

    # then nothing is written, and the error names the version to review against
    assert refused.value.details["current_version"] == 1
    customer.refresh_from_db()
    assert (customer.first_name, customer.company, customer.edit_version) == ("Anna", "New", 1)
    assert ActivityEvent.objects.filter(customer=customer).count() == events_before


def test_order_aggregates_are_not_an_edit_and_a_save_keeps_them(store, owner):
    # given a form opened at version 0, then an order updating the aggregates meanwhile
    customer = CustomerFactory(store=store, first_name="Anna")
    Customer.objects.filter(pk=customer.pk).update(orders_count=3, total_spent=Decimal("90"))

    # when the member saves their form (built from the instance loaded before the order)
    customer_update(
        store=store, customer=customer, actor=owner, expected_version=0, first_name="Anne"
    )

    # then the save goes through and the aggregates written meanwhile stay
    customer.refresh_from_db()
    assert customer.first_name == "Anne"
    assert (customer.orders_count, customer.total_spent) == (3, Decimal("90"))


# --- The edit page ------------------------------------------------------------------------


def test_the_second_of_two_open_forms_gets_a_review_and_saves_after_it(store):
    customer = CustomerFactory(
        store=store, email="anna@example.org", first_name="Anna", company="Berg AG"
    )
    edit_url = url("customer_edit", store, customer.pk)
    first, second = signed_in(store), signed_in(store)

    # given two members who opened the edit form of the same profile
    first_form = form_data(first.get(edit_url))
    second_form = form_data(second.get(edit_url))
    assert first_form["edit_version"] == second_form["edit_version"] == "0"

    # when the first saves a new company, then the second saves a new first name
    response = first.post(edit_url, {**first_form, "company": "Berg GmbH"})
    assert response.status_code == 302
    response = second.post(edit_url, {**second_form, "first_name": "Anne"})

    # then the second save writes nothing and shows what differs, saved now beside theirs
    assert response.status_code == 409
    customer.refresh_from_db()
    assert (customer.first_name, customer.company) == ("Anna", "Berg GmbH")
    page = response.content.decode()
    assert "Someone else changed this customer after you opened the form" in page
    rows = {row["label"]: row for row in response.context["conflict_rows"]}
    assert set(rows) == {"First name", "Company"}
    assert (rows["Company"]["saved"], rows["Company"]["yours"]) == ("Berg GmbH", "Berg AG")
    assert (rows["First name"]["saved"], rows["First name"]["yours"]) == ("Anna", "Anne")
    # the review keeps the member's entry and carries the version it showed
    review_form = form_data(response)
    assert review_form["first_name"] == "Anne" and review_form["company"] == "Berg AG"
    assert review_form["edit_version"] == "1"

    # when the member, having reviewed, saves again (taking the colleague's company)
    response = second.post(edit_url, {**review_form, "company": "Berg GmbH"})

    # then it saves: both changes are kept
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.first_name, customer.company, customer.edit_version) == (
        "Anne",
        "Berg GmbH",
        2,
    )


def test_a_stale_form_whose_entry_matches_what_is_saved_now_simply_saves(store):
    customer = CustomerFactory(store=store, first_name="Anna")
    edit_url = url("customer_edit", store, customer.pk)
    first, second = signed_in(store), signed_in(store)
    first_form = form_data(first.get(edit_url))
    second_form = form_data(second.get(edit_url))

    first.post(edit_url, {**first_form, "first_name": "Anne"})
    response = second.post(edit_url, {**second_form, "first_name": "Anne"})

    assert response.status_code == 302  # the same change twice is no conflict to review
    customer.refresh_from_db()
    assert (customer.first_name, customer.edit_version) == ("Anne", 1)


def test_the_review_is_translated(store):
    customer = CustomerFactory(store=store, first_name="Anna")
    edit_url = url("customer_edit", store, customer.pk)
    first, second = signed_in(store), signed_in(store)
    first_form = form_data(first.get(edit_url))
    second_form = form_data(second.get(edit_url))
    first.post(edit_url, {**first_form, "first_name": "Anne"})

    response = second.post(
        edit_url, {**second_form, "company": "Neu"}, headers={"accept-language": "de"}
    )

    assert response.status_code == 409
    assert "Jemand anderes hat diesen Kunden geändert" in response.content.decode()


# --- Two saves at the same moment (PostgreSQL: row locks) --------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_two_simultaneous_saves_at_one_version_the_second_is_refused():
    import threading

    from django.db import connection, transaction
    from django_scopes import scopes_disabled

    from storefront_crm.tenancy import store_scope
    from tests.factories import StoreFactory

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time")
    store = StoreFactory()
    with scopes_disabled():
        customer = CustomerFactory(store=store, first_name="Anna", company="Berg AG")
    outcome: list[str] = []

    def second_save() -> None:
        try:
            with store_scope(store):
                customer_update(
                    store=store,
                    customer=Customer.objects.get(pk=customer.pk),
                    expected_version=0,
                    company="Berg GmbH",
                )
            outcome.append("saved")
        except EditConflict:
            outcome.append("conflict")
        finally:
            connection.close()

    # given a first save at version 0 that has not committed yet
    with store_scope(store), transaction.atomic():
        customer_update(
            store=store,
            customer=Customer.objects.get(pk=customer.pk),
            expected_version=0,
            first_name="Anne",
        )
        # when a second save at version 0 starts meanwhile
        racer = threading.Thread(target=second_save)
        racer.start()
        racer.join(timeout=1)
        assert racer.is_alive(), "the second save must wait for the first one's row lock"
    racer.join(timeout=10)

    # then it sees the first one's version and is refused, writing nothing
    assert outcome == ["conflict"]
    with scopes_disabled():
        customer.refresh_from_db()
    assert (customer.first_name, customer.company, customer.edit_version) == (
        "Anne",
        "Berg AG",
        1,
    )


# --- Addresses ------------------------------------------------------------------------------


def test_an_address_save_over_a_changed_address_is_refused_and_writes_nothing(store, owner):
    from customers.models import Address
    from customers.services.addresses import address_edit, address_fingerprint
    from tests.factories import AddressFactory

    address = AddressFactory(store=store, city="Berlin", line1="Hauptstr. 1")
    opened_as = address_fingerprint(address)
    Address.objects.filter(pk=address.pk).update(city="Potsdam")  # a colleague's save

    with pytest.raises(EditConflict):
        address_edit(
            store=store,
            address=Address.objects.get(pk=address.pk),
            actor=owner,
            expected_fingerprint=opened_as,
            kind=address.kind,
            is_default=address.is_default,
            line1="Hauptstr. 2",
            city="Berlin",
            country=address.country,
        )

    address.refresh_from_db()
    assert (address.line1, address.city) == ("Hauptstr. 1", "Potsdam")


def test_the_second_of_two_open_address_forms_gets_a_review_and_saves_after_it(store):
    from tests.factories import AddressFactory

    address = AddressFactory(store=store, city="Berlin", line1="Hauptstr. 1")
    edit_url = url("address_edit", store, address.customer_id, address.pk)
    first, second = signed_in(store), signed_in(store)
    first_form = form_data(first.get(edit_url))
    second_form = form_data(second.get(edit_url))

    assert first.post(edit_url, {**first_form, "city": "Potsdam"}).status_code == 302
    response = second.post(edit_url, {**second_form, "line1": "Hauptstr. 2"})

    assert response.status_code == 409
    address.refresh_from_db()
    assert (address.line1, address.city) == ("Hauptstr. 1", "Potsdam")
    assert "Someone else changed this address" in response.content.decode()
    rows = {row["label"]: row for row in response.context["conflict_rows"]}
    assert set(rows) == {"Street and number", "City"}
    assert (rows["City"]["saved"], rows["City"]["yours"]) == ("Potsdam", "Berlin")

    response = second.post(edit_url, form_data(response))

    assert response.status_code == 302
    address.refresh_from_db()
    assert (address.line1, address.city) == ("Hauptstr. 2", "Berlin")


def test_the_address_review_is_translated(store):
    from tests.factories import AddressFactory

    address = AddressFactory(store=store, city="Berlin")
    edit_url = url("address_edit", store, address.customer_id, address.pk)
    first, second = signed_in(store), signed_in(store)
    first_form = form_data(first.get(edit_url))
    second_form = form_data(second.get(edit_url))
    first.post(edit_url, {**first_form, "city": "Potsdam"})

    response = second.post(
        edit_url, {**second_form, "line1": "Neu 1"}, headers={"accept-language": "it"}
    )

    assert response.status_code == 409
    assert "Qualcun altro ha modificato questo indirizzo" in response.content.decode()


# --- Other edits of the form's fields move the version too --------------------------------


def test_bulk_edits_of_the_forms_fields_move_the_version(store, owner):
    from customers.services.bulk import bulk_chunk_apply
    from tests.factories import CustomerGroupFactory

    customer = CustomerFactory(store=store, tax_exempt=False)
    group = CustomerGroupFactory(store=store)

    bulk_chunk_apply(
        store=store, actor=owner, action="group_set", value=group.pk, customer_ids=[customer.pk]
    )
    bulk_chunk_apply(
        store=store, actor=owner, action="tax_exempt_on", value=True, customer_ids=[customer.pk]
    )

    customer.refresh_from_db()
    assert (customer.group_id, customer.tax_exempt, customer.edit_version) == (group.pk, True, 2)


def test_an_import_that_updates_a_customer_moves_its_version_and_new_ones_start_at_0(store):
    import io

    from customers.io.importer import ImportOptions, customers_import

    existing = CustomerFactory(store=store, email="known@example.org", first_name="Old")

    customers_import(
        store=store,
        source=io.BytesIO(
            b"Email,First Name,Accepts Email Marketing,Tags,Default Address City\n"
            b"known@example.org,New,no,,Berlin\n"
            b"fresh@example.org,Fresh,no,,Berlin\n"
        ),
        options=ImportOptions(on_error="abort"),
    )

    existing.refresh_from_db()
    assert (existing.first_name, existing.edit_version) == ("New", 1)
    assert Customer.objects.get(email="fresh@example.org").edit_version == 0
