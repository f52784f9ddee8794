"""Services behind the profile: custom-field validation, delete, account flags, email
confirmation and signing in as the customer."""

import datetime
from decimal import Decimal

import pytest
from django.core import signing

from customers.models import ActivityEvent, Customer, CustomFieldType
from customers.services.accounts import (
    EMAIL_CONFIRM_SALT,
    customer_active_set,
    customer_block_set,
    customer_email_confirm,
    customer_impersonation_start,
    email_confirmation_customer,
    email_confirmation_token,
    shopper_identity_get_or_create,
)
from customers.services.custom_fields import custom_field_values_clean
from customers.services.customers import (
    EmailTaken,
    customer_create,
    customer_delete,
    customer_update,
)
from customers.views.profile_display import event_sentence
from orders.models import Order
from storefront_crm.errors import ServiceError
from storefront_crm.models import User
from tests.factories import CustomerFactory, CustomFieldFactory, OrderFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_custom_field_values_are_validated_and_stored_by_type(store):
    CustomFieldFactory(store=store, key="shoe", field_type=CustomFieldType.NUMBER)
    CustomFieldFactory(store=store, key="birthday", field_type=CustomFieldType.DATE)
    CustomFieldFactory(store=store, key="vip", field_type=CustomFieldType.BOOLEAN)
    CustomFieldFactory(
        store=store, key="size", field_type=CustomFieldType.CHOICE, choices=["S", "M", "L"]
    )
    CustomFieldFactory(store=store, key="nick", field_type=CustomFieldType.TEXT)

    cleaned = custom_field_values_clean(
        store=store,
        values={
            "shoe": Decimal("42"),
            "birthday": datetime.date(1990, 5, 17),
            "vip": "yes",
            "size": "M",
            "nick": "  Jo ",
            "gone": "kept as is",
            "empty": None,
        },
    )

    assert cleaned == {
        "shoe": 42,
        "birthday": "1990-05-17",
        "vip": True,
        "size": "M",
        "nick": "Jo",
        "gone": "kept as is",
    }
    assert custom_field_values_clean(store=store, values={"shoe": "41.5"}) == {"shoe": 41.5}


@pytest.mark.parametrize(
    ("field_type", "value"),
    [
        (CustomFieldType.NUMBER, "many"),
        (CustomFieldType.DATE, "31.02.2020"),
        (CustomFieldType.BOOLEAN, "maybe"),
        (CustomFieldType.CHOICE, "XXL"),
    ],
)
def test_a_custom_field_value_of_the_wrong_type_is_refused_on_its_field(store, field_type, value):
    CustomFieldFactory(store=store, key="f", field_type=field_type, choices=["S"])
    customer = CustomerFactory(store=store)

    with pytest.raises(ServiceError) as error:
        customer_update(store=store, customer=customer, custom_fields={"f": value})

    assert error.value.field == "f"
    customer.refresh_from_db()
    assert customer.custom_fields == {}


def test_an_email_another_customer_has_is_refused_with_that_customer(store):
    other = CustomerFactory(store=store, email="taken@example.org")
    customer = CustomerFactory(store=store)

    with pytest.raises(EmailTaken) as error:
        customer_update(store=store, customer=customer, email=" Taken@Example.org ")

    assert error.value.field == "email"
    assert error.value.details["customer"] == other


def test_deleting_a_customer_keeps_the_orders_detached(store, owner):
    customer = CustomerFactory(store=store)
    order = OrderFactory(store=store, customer=customer)
    shopper = shopper_identity_get_or_create(store=store, customer=customer)

    detached = customer_delete(store=store, customer=customer, actor=owner)

    assert detached == 1
    assert not Customer.objects.filter(pk=customer.pk).exists()
    order.refresh_from_db()
    assert order.customer_id is None and order.email == customer.email
    assert not User.objects.filter(pk=shopper.pk).exists()
    event = ActivityEvent.objects.get(verb="customer.deleted")
    assert event.data["email"] == customer.email and event.actor == owner


def test_block_and_activate_are_recorded_once(store, owner):
    customer = CustomerFactory(store=store, account_type="registered")

    customer_block_set(store=store, customer=customer, actor=owner, blocked=True)
    customer_block_set(store=store, customer=customer, actor=owner, blocked=True)
    customer_active_set(store=store, customer=customer, actor=owner, active=False)

    customer.refresh_from_db()
    assert customer.is_blocked and not customer.is_active
    verbs = list(ActivityEvent.objects.filter(customer=customer).values_list("verb", flat=True))
    assert sorted(verbs) == ["account.blocked", "account.deactivated"]


def test_a_confirmation_token_is_bound_to_store_customer_and_email(store, other_store):
    customer = CustomerFactory(store=store, email="a@example.org")
    token = email_confirmation_token(customer)

    assert email_confirmation_customer(store=store, token=token) == customer
    assert email_confirmation_customer(store=other_store, token=token) is None
    assert email_confirmation_customer(store=store, token=token + "x") is None
    customer_update(store=store, customer=customer, email="b@example.org")
    assert email_confirmation_customer(store=store, token=token) is None


def test_a_confirmation_token_expires(store, monkeypatch):
    customer = CustomerFactory(store=store)
    token = email_confirmation_token(customer)
    real_loads = signing.loads

    def loads_later(value, **kwargs):
        assert kwargs["salt"] == EMAIL_CONFIRM_SALT
        kwargs["max_age"] = -1  # as if the three days had passed
        return real_loads(value, **kwargs)

    monkeypatch.setattr(signing, "loads", loads_later)
    assert email_confirmation_customer(store=store, token=token) is None


def test_confirming_the_email_is_logged(store, owner):
    customer = CustomerFactory(store=store, account_type="registered")

    customer_email_confirm(store=store, customer=customer, actor=owner)

    customer.refresh_from_db()
    assert customer.email_confirmed
    assert ActivityEvent.objects.filter(customer=customer, verb="email.confirmed").exists()


def test_the_shopper_identity_is_per_store_and_never_staff(store, other_store, unscoped):
    one = CustomerFactory(store=store, email="same@example.org")
    two = CustomerFactory(store=other_store, email="same@example.org")

    first = shopper_identity_get_or_create(store=store, customer=one)
    second = shopper_identity_get_or_create(store=other_store, customer=two)

    assert first.pk != second.pk
    assert first.store == store and second.store == other_store
    assert not first.is_staff and not first.has_usable_password()
    assert shopper_identity_get_or_create(store=store, customer=one) == first


def test_signing_in_as_a_blocked_customer_is_refused(store, owner):
    customer = CustomerFactory(store=store, account_type="registered", is_blocked=True)

    with pytest.raises(ServiceError):
        customer_impersonation_start(store=store, customer=customer, actor=owner)

    assert not ActivityEvent.objects.filter(verb="customer.impersonated").exists()


def test_signing_in_as_the_customer_is_logged_and_scoped_to_the_store(store, owner):
    customer = CustomerFactory(store=store, account_type="registered")

    url = customer_impersonation_start(store=store, customer=customer, actor=owner)

    assert url.startswith(f"/shop/{store.slug}/login/?sesame=")
    event = ActivityEvent.objects.get(verb="customer.impersonated")
    assert event.customer == customer and event.actor == owner


def test_services_refuse_a_customer_of_another_store(store, owner, unscoped):
    foreign = CustomerFactory(store=StoreFactory(slug="gamma"))

    with pytest.raises(ServiceError):
        customer_delete(store=store, customer=foreign, actor=owner)
    with pytest.raises(ServiceError):
        customer_block_set(store=store, customer=foreign, actor=owner, blocked=True)
    assert Order.objects.count() == 0


def test_create_with_tags_group_and_consent(store, owner):
    customer = customer_create(
        store=store,
        actor=owner,
        email="New@Example.org",
        tags=["vip", "newsletter"],
        accepts_marketing=True,
    )

    assert customer.email == "new@example.org"
    assert sorted(customer.tags.names()) == ["newsletter", "vip"]
    assert customer.marketing_consent_at is not None


def test_a_new_email_is_unconfirmed(store, owner):
    customer = CustomerFactory(store=store, email_confirmed=True)

    customer_update(store=store, customer=customer, actor=owner, email="new@example.org")

    customer.refresh_from_db()
    assert customer.email == "new@example.org" and not customer.email_confirmed


# --- The storefront login follows a changed email -----------------------------------------


def _token(path: str) -> str:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(path).query)["sesame"][0]


def _signs_in(store, token: str) -> bool:
    from django.test import Client

    response = Client().post(f"/shop/{store.slug}/login/", {"sesame": token})
    return response.status_code == 302


def test_a_new_email_moves_the_login_and_revokes_its_links(store, owner):
    customer = CustomerFactory(store=store, account_type="registered", email="old@example.org")
    link = customer_impersonation_start(store=store, customer=customer, actor=owner)
    confirm = email_confirmation_token(customer)
    login = User.objects.get(customers=customer)

    customer_update(store=store, customer=customer, actor=owner, email="New@Example.org")

    login.refresh_from_db()
    assert login.email == "new@example.org"
    assert login.username == User.login_name("new@example.org", store.pk)
    assert User.objects.filter(store=store).count() == 1  # the same login, not a new one
    assert not _signs_in(store, _token(link))  # the link sent before is dead
    assert email_confirmation_customer(store=store, token=confirm) is None
    event = ActivityEvent.objects.get(customer=customer, verb="account.login_email_changed")
    assert event.actor == owner
    assert event.data == {"email": "new@example.org", "old_email": "old@example.org"}
    # a link made now signs in as the same customer
    fresh = customer_impersonation_start(store=store, customer=customer, actor=owner)
    assert _signs_in(store, _token(fresh))


def test_an_imported_password_survives_the_move_and_links_still_die(store, owner):
    customer = CustomerFactory(store=store, account_type="registered", email="old@example.org")
    customer_impersonation_start(store=store, customer=customer, actor=owner)
    login = User.objects.get(customers=customer)
    login.set_password("from the old shop")
    login.save()
    link = customer_impersonation_start(store=store, customer=customer, actor=owner)

    customer_update(store=store, customer=customer, actor=owner, email="new@example.org")

    login.refresh_from_db()
    assert login.email == "new@example.org" and login.check_password("from the old shop")
    assert not _signs_in(store, _token(link))


def test_other_changes_leave_the_login_and_its_links_alone(store, owner):
    customer = CustomerFactory(store=store, account_type="registered", email="same@example.org")
    link = customer_impersonation_start(store=store, customer=customer, actor=owner)

    customer_update(
        store=store, customer=customer, actor=owner, email="SAME@example.org", first_name="Al"
    )

    assert not ActivityEvent.objects.filter(verb="account.login_email_changed").exists()
    assert _signs_in(store, _token(link))


def test_without_a_login_no_login_is_made(store, owner):
    customer = CustomerFactory(store=store, email="old@example.org")

    customer_update(store=store, customer=customer, actor=owner, email="new@example.org")

    assert not User.objects.filter(store=store).exists()
    assert not ActivityEvent.objects.filter(verb="account.login_email_changed").exists()


def test_a_login_made_for_the_old_email_but_not_linked_moves_too(store, owner):
    customer = CustomerFactory(store=store, email="old@example.org")
    unlinked = User.objects.create_user("old@example.org", None, store=store)

    customer_update(store=store, customer=customer, actor=owner, email="new@example.org")

    unlinked.refresh_from_db()
    customer.refresh_from_db()
    assert unlinked.email == "new@example.org" and customer.user == unlinked


def test_a_leftover_login_of_the_new_email_gives_way(store, owner):
    customer = CustomerFactory(store=store, account_type="registered", email="old@example.org")
    customer_impersonation_start(store=store, customer=customer, actor=owner)
    leftover = User.objects.create_user("new@example.org", None, store=store)  # no profile

    customer_update(store=store, customer=customer, actor=owner, email="new@example.org")

    assert not User.objects.filter(pk=leftover.pk).exists()
    assert User.objects.get(customers=customer).email == "new@example.org"


def test_a_login_of_the_new_email_that_another_profile_uses_is_refused(store, owner):
    customer = CustomerFactory(store=store, account_type="registered", email="old@example.org")
    link = customer_impersonation_start(store=store, customer=customer, actor=owner)
    # inconsistent data: another profile signs in with a login named after the new email
    taken = User.objects.create_user("new@example.org", None, store=store)
    CustomerFactory(store=store, email="someone@example.org", user=taken)

    with pytest.raises(ServiceError) as error:
        customer_update(store=store, customer=customer, actor=owner, email="new@example.org")

    assert error.value.field == "email"
    customer.refresh_from_db()
    assert customer.email == "old@example.org"  # the whole change was rolled back
    assert User.objects.get(customers=customer).email == "old@example.org"
    assert _signs_in(store, _token(link))


def test_an_edit_sentence_lists_changes_in_the_forms_order_whatever_the_stored_order(store):
    event = ActivityEvent(
        store=store,
        verb="customer.updated",
        # as PostgreSQL's jsonb may hand the keys back: not in the order they were written
        data={"changes": {"phone": ["1", "2"], "first_name": ["Al", "Bo"]}},
    )

    assert event_sentence(event) == (
        "Edited: changed first name from “Al” to “Bo”; changed phone from “1” to “2”"
    )
