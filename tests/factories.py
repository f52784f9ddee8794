"""factory_boy factories for every model. Store-owned factories take ``store=``."""

from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import (
    ActivityEvent,
    Address,
    AddressKind,
    Customer,
    CustomerGroup,
    CustomerListLayout,
    CustomerNote,
    CustomerTag,
    CustomField,
    GroupKind,
    TaggedCustomer,
)
from orders.models import Order, OrderItem, OrderSequence, Product
from segments.models import Segment
from storefront_crm.models import Job, Membership, Role, Store, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ["slug"]
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")
    currency = "EUR"
    language = "en"

    @factory.post_generation
    def defaults(self, create, extracted, **kwargs):
        if create:
            from customers.services.groups import group_defaults_create
            from storefront_crm.tenancy import store_scope

            with store_scope(self):
                group_defaults_create(self)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    store = factory.SubFactory(StoreFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class CustomerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerGroup

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Group {n}")
    kind = GroupKind.CUSTOM
    discount_percent = Decimal("5.00")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    store = factory.SubFactory(StoreFactory)
    email = factory.Sequence(lambda n: f"customer{n}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    country = "DE"
    group = factory.LazyAttribute(
        lambda o: CustomerGroup.objects.get(store=o.store, kind=GroupKind.GUESTS)
    )


class CustomerTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerTag

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")
    slug = factory.LazyAttribute(lambda o: o.name)


class TaggedCustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaggedCustomer

    store = factory.SubFactory(StoreFactory)
    content_object = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    tag = factory.SubFactory(CustomerTagFactory, store=factory.SelfAttribute("..store"))


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    store = factory.SubFactory(StoreFactory)
    customer = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    kind = AddressKind.SHIPPING
    is_default = True
    name = factory.Faker("name")
    line1 = factory.Faker("street_address")
    postal_code = factory.Faker("postcode")
    city = factory.Faker("city")
    country = "DE"


class CustomerNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerNote

    store = factory.SubFactory(StoreFactory)
    customer = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    body = factory.Faker("sentence")


class CustomFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomField

    store = factory.SubFactory(StoreFactory)
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")


class CustomerListLayoutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerListLayout

    store = factory.SubFactory(StoreFactory)
    user = factory.SubFactory(UserFactory)
    columns = factory.LazyFunction(lambda: ["name", "email", "phone"])


class ActivityEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActivityEvent

    store = factory.SubFactory(StoreFactory)
    customer = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    verb = "customer.updated"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    store = factory.SubFactory(StoreFactory)
    name = factory.Faker("word")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    price = Decimal("19.90")


class OrderFactory(factory.django.DjangoModelFactory):
    """A raw order row; use orders.services.order_create where aggregates matter."""

    class Meta:
        model = Order

    store = factory.SubFactory(StoreFactory)
    number = factory.Sequence(lambda n: n + 1)
    customer = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    email = factory.LazyAttribute(lambda o: o.customer.email if o.customer else "guest@example.org")
    subtotal = Decimal("50.00")
    total = Decimal("50.00")
    currency = "EUR"
    placed_at = factory.LazyFunction(timezone.now)


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    store = factory.SubFactory(StoreFactory)
    order = factory.SubFactory(OrderFactory, store=factory.SelfAttribute("..store"))
    name = "Item"
    unit_price = Decimal("25.00")
    quantity = 2


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    store = factory.SubFactory(StoreFactory)
    kind = "test.noop"


class OrderSequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderSequence
        django_get_or_create = ["store"]

    store = factory.SubFactory(StoreFactory)
    last_number = 0


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    conditions = factory.LazyFunction(lambda: [{"field": "country", "op": "in", "value": ["DE"]}])
