import pytest
from django.db import IntegrityError, transaction

from customers.models import Customer, CustomerGroup, CustomerTag, GroupKind
from customers.services.customers import EmailTaken, customer_create, customer_update
from customers.services.tags import TagLimitExceeded, customer_tags_add, tags_ensure
from storefront_crm.errors import ServiceError
from storefront_crm.tenancy import store_scope
from tests.factories import CustomerFactory


@pytest.mark.django_db
def test_email_is_unique_per_store_in_any_letter_case(store):
    customer_create(store=store, email="Maria.Rossi@Example.it")
    with pytest.raises(EmailTaken) as error:
        customer_create(store=store, email="maria.rossi@EXAMPLE.IT")
    assert error.value.field == "email"
    assert error.value.details["customer"].email == "maria.rossi@example.it"


@pytest.mark.django_db
def test_the_database_refuses_a_mixed_case_or_duplicate_email(store):
    customer = CustomerFactory(store=store, email="x@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(store=store, email="x@example.org", group=customer.group)
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(email="X@example.org")


@pytest.mark.django_db
def test_the_same_email_at_two_stores_is_two_customers(store, other_store):
    customer_create(store=store, email="same@example.org")
    with store_scope(other_store):
        customer_create(store=other_store, email="same@example.org")
        assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_an_invalid_email_is_refused_with_the_field(store):
    with pytest.raises(ServiceError) as error:
        customer_create(store=store, email="not-an-email")
    assert error.value.field == "email"


@pytest.mark.django_db
def test_every_store_starts_with_guests_and_standard(store):
    kinds = set(CustomerGroup.objects.filter(store=store).values_list("kind", flat=True))
    assert kinds == {GroupKind.GUESTS, GroupKind.STANDARD}


@pytest.mark.django_db
def test_registered_customers_fall_into_standard_and_guests_into_guests(store):
    registered = customer_create(store=store, email="r@example.org", account_type="registered")
    guest = customer_create(store=store, email="g@example.org")
    assert registered.group.kind == GroupKind.STANDARD
    assert guest.group.kind == GroupKind.GUESTS


@pytest.mark.django_db
def test_consent_changes_are_timestamped(store):
    customer = customer_create(store=store, email="c@example.org")
    assert customer.marketing_consent_at is None
    customer_update(store=store, customer=customer, accepts_marketing=True)
    given = customer.marketing_consent_at
    assert given is not None
    customer_update(store=store, customer=customer, accepts_marketing=False)
    assert customer.marketing_consent_at >= given
    assert customer.events.filter(verb="customer.updated").count() == 2


@pytest.mark.django_db
def test_tags_are_per_store_and_case_insensitive(store, other_store):
    customer = CustomerFactory(store=store)
    customer_tags_add(store=store, customer=customer, names=["VIP", "vip ", "Vegan"])
    assert sorted(customer.tags.names()) == ["VIP", "Vegan"]
    with store_scope(other_store):
        assert not CustomerTag.objects.exists()
        other = CustomerFactory(store=other_store)
        customer_tags_add(store=other_store, customer=other, names=["vip"])
        assert list(other.tags.names()) == ["vip"]
    assert CustomerTag.objects.get(name="VIP").store == store


@pytest.mark.django_db
def test_a_store_has_at_most_250_tags(store):
    tags_ensure(store=store, names=[f"tag {n}" for n in range(250)])
    customer = CustomerFactory(store=store)
    customer_tags_add(store=store, customer=customer, names=["tag 1", "TAG 2"])  # existing
    with pytest.raises(TagLimitExceeded) as error:
        customer_tags_add(store=store, customer=customer, names=["one too many"])
    assert "250" in error.value.message
    assert CustomerTag.objects.filter(store=store).count() == 250
    assert set(customer.tags.names()) == {"tag 1", "tag 2"}


@pytest.mark.django_db
def test_the_tag_limit_is_per_store(store, other_store):
    tags_ensure(store=store, names=[f"t{n}" for n in range(250)])
    with store_scope(other_store):
        assert len(tags_ensure(store=other_store, names=["fresh"])) == 1
