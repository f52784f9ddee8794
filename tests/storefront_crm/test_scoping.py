import pytest
from django_scopes import ScopeError, scopes_disabled

from customers.models import Customer
from storefront_crm.tenancy import all_stores, store_scope
from tests.factories import CustomerFactory, StoreFactory


@pytest.mark.django_db
def test_a_query_without_an_active_store_raises_instead_of_returning_every_store():
    with scopes_disabled():
        CustomerFactory(store=StoreFactory())
    with pytest.raises(ScopeError):
        list(Customer.objects.all())


@pytest.mark.django_db
def test_inside_a_store_scope_only_that_stores_rows_exist():
    first, second = StoreFactory(), StoreFactory()
    with scopes_disabled():
        mine = CustomerFactory(store=first)
        theirs = CustomerFactory(store=second)
    with store_scope(first):
        assert list(Customer.objects.all()) == [mine]
        assert not Customer.objects.filter(pk=theirs.pk).exists()
    with all_stores():
        assert Customer.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_a_row_that_points_at_another_stores_row():
    from django.db import IntegrityError, connection, transaction

    from tests.factories import AddressFactory

    if connection.vendor != "postgresql":
        pytest.skip("the (store, id) foreign keys are PostgreSQL constraints")
    first, second = StoreFactory(), StoreFactory()
    with scopes_disabled():
        customer = CustomerFactory(store=first)
        with pytest.raises(IntegrityError), transaction.atomic():
            AddressFactory(store=second, customer=customer)
            connection.check_constraints()  # deferred keys are checked at commit
