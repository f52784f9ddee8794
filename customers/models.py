"""Customers of a store and everything a merchant keeps about them."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from taggit.managers import TaggableManager
from taggit.models import TagBase, TaggedItemBase

from storefront_crm.models import store_foreign_key, store_scoped_manager

from .search_text import CustomerSearchText


class GroupKind(models.TextChoices):
    GUESTS = "guests", _("Guests")
    STANDARD = "standard", _("Standard")
    CUSTOM = "custom", _("Custom")


class CustomerGroup(models.Model):
    """A label with a discount; every store has the two defaults, Guests and Standard."""

    store = store_foreign_key()
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(
        _("kind"), max_length=16, choices=GroupKind.choices, default=GroupKind.CUSTOM
    )
    discount_percent = models.DecimalField(
        _("discount %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("customer group")
        verbose_name_plural = _("customer groups")
        ordering = ["name"]
        constraints = [
            # The target of the (store, group) foreign keys of rows that point here.
            models.UniqueConstraint(fields=["store", "id"], name="group_store_id_key"),
            models.UniqueConstraint("store", Lower("name"), name="group_store_name_unique"),
            models.UniqueConstraint(
                fields=["store", "kind"],
                condition=~models.Q(kind=GroupKind.CUSTOM),
                name="group_store_default_kind_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return self.kind != GroupKind.CUSTOM


class CustomerTag(TagBase):
    """A tag of one store; the same word in two stores is two tags."""

    store = store_foreign_key()
    # TagBase makes these unique across the table; ours are unique per store.
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, allow_unicode=True)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [
            # The target of the (store, tag) foreign keys of rows that point here.
            models.UniqueConstraint(fields=["store", "id"], name="tag_store_id_key"),
            models.UniqueConstraint("store", Lower("name"), name="tag_store_name_unique"),
            models.UniqueConstraint(fields=["store", "slug"], name="tag_store_slug_unique"),
        ]


class TaggedCustomer(TaggedItemBase):
    store = store_foreign_key(checked_through_parent=True)
    content_object = models.ForeignKey(
        "Customer",
        on_delete=models.CASCADE,
        related_name="tagged_items",
        db_index=False,
        db_constraint=False,  # FK (store, id): same_store_foreign_keys
    )
    tag = models.ForeignKey(
        CustomerTag,
        on_delete=models.CASCADE,
        related_name="tagged_items",
        db_index=False,
        db_constraint=False,  # FK (store, id): same_store_foreign_keys
    )

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("customer tag")
        constraints = [
            models.UniqueConstraint(
                fields=["store", "content_object", "tag"], name="taggedcustomer_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "tag", "content_object"], name="taggedcustomer_tag_idx")
        ]


class CustomerSource(models.TextChoices):
    ORDER = "order", _("Order")
    SIGNUP = "signup", _("Sign-up")
    IMPORT = "import", _("Import")
    MANUAL = "manual", _("Added by staff")


class AccountType(models.TextChoices):
    GUEST = "guest", _("Guest")
    REGISTERED = "registered", _("Registered")


class Customer(models.Model):
    """A person who buys from one store, unique per store by email (stored lower-case).

    ``orders_count``, ``total_spent``, ``first_order_at`` and ``last_order_at`` are kept
    equal to the customer's orders by ``orders.services`` in the same transaction as every
    order change; ``manage.py recompute_customer_stats`` rebuilds them.
    """

    store = store_foreign_key(checked_through_parent=True)
    email = models.EmailField(_("email"), max_length=254)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("Two-letter ISO code, e.g. DE")
    )
    company = models.CharField(_("company"), max_length=200, blank=True)
    customer_since = models.DateTimeField(_("customer since"), default=timezone.now)
    source = models.CharField(
        _("source"), max_length=16, choices=CustomerSource.choices, default=CustomerSource.MANUAL
    )

    account_type = models.CharField(
        _("account"), max_length=16, choices=AccountType.choices, default=AccountType.GUEST
    )
    is_active = models.BooleanField(_("account active"), default=True)
    is_blocked = models.BooleanField(_("blocked"), default=False)
    email_confirmed = models.BooleanField(_("email confirmed"), default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        verbose_name=_("shopper login"),
        db_index=False,
    )

    accepts_marketing = models.BooleanField(_("accepts marketing"), default=False)
    marketing_consent_at = models.DateTimeField(
        _("consent changed"),
        null=True,
        blank=True,
        help_text=_("When marketing consent was last given or withdrawn."),
    )

    tax_exempt = models.BooleanField(_("tax exempt"), default=False)
    vat_id = models.CharField(_("VAT ID"), max_length=32, blank=True)
    group = models.ForeignKey(
        CustomerGroup,
        verbose_name=_("group"),
        on_delete=models.PROTECT,
        related_name="customers",
        db_index=False,
        db_constraint=False,  # FK (store, id): same_store_foreign_keys
    )
    tags = TaggableManager(through=TaggedCustomer, blank=True, verbose_name=_("tags"))
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)

    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    total_spent = models.DecimalField(
        _("total spent"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Counts the edits of the fields the edit form shows (customer_update, bulk group and
    # flag changes, a group's deletion, a merge, an import's update), and only those: the
    # form carries it, and a save over a newer version asks the member to review. Order
    # aggregates and other bookkeeping do not move it, unlike ``updated_at``.
    edit_version = models.IntegerField(default=0, db_default=0, editable=False)
    # What the free-text search matches, kept by the database (customers.search_text).
    search_text = models.GeneratedField(
        expression=CustomerSearchText("first_name", "last_name", "email"),
        output_field=models.TextField(),
        db_persist=True,
    )

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-customer_since", "-id"]
        constraints = [
            # The target of the (store, customer) foreign keys of rows that point here.
            models.UniqueConstraint(fields=["store", "id"], name="customer_store_id_key"),
            models.UniqueConstraint(fields=["store", "email"], name="customer_store_email_unique"),
            models.UniqueConstraint(
                fields=["store", "user"],
                condition=models.Q(user__isnull=False),
                name="customer_store_user_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="customer_email_lowercase"
            ),
        ]
        # Every sort and filter of the customer list, each led by the store, with the id
        # as the stable tie-break that keyset pagination needs.
        indexes = [
            models.Index(
                fields=["store", "last_name", "first_name", "id"], name="customer_store_name_idx"
            ),
            models.Index(fields=["store", "total_spent", "id"], name="customer_store_spent_idx"),
            models.Index(fields=["store", "orders_count", "id"], name="customer_store_orders_idx"),
            models.Index(
                fields=["store", "last_order_at", "id"], name="customer_store_lastorder_idx"
            ),
            models.Index(fields=["store", "customer_since", "id"], name="customer_store_since_idx"),
            models.Index(fields=["store", "group", "id"], name="customer_store_group_idx"),
            models.Index(fields=["store", "country", "id"], name="customer_store_country_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def average_order_value(self) -> Decimal:
        if not self.orders_count:
            return Decimal("0.00")
        return (self.total_spent / self.orders_count).quantize(Decimal("0.01"))

    @property
    def is_registered(self) -> bool:
        return self.account_type == AccountType.REGISTERED


class AddressKind(models.TextChoices):
    SHIPPING = "shipping", _("Shipping")
    BILLING = "billing", _("Billing")


# The parts of an address, in the order a letter shows them: the columns of ``Address``,
# of the import/export formats and of an order's address snapshot.
ADDRESS_PARTS = (
    "name",
    "company",
    "line1",
    "line2",
    "postal_code",
    "city",
    "region",
    "country",
    "phone",
)


class Address(models.Model):
    """A saved address of a customer; at most one default shipping and one default billing."""

    store = store_foreign_key(checked_through_parent=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="addresses",
        db_index=False,
        db_constraint=False,  # FK (store, id): same_store_foreign_keys
    )
    kind = models.CharField(_("kind"), max_length=16, choices=AddressKind.choices)
    is_default = models.BooleanField(_("default"), default=False)
    name = models.CharField(_("name"), max_length=200, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    line1 = models.CharField(_("address"), max_length=200, blank=True)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["kind", "-is_default", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "customer", "kind"],
                condition=models.Q(is_default=True),
                name="address_one_default_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["store", "customer"], name="address_store_customer_idx")]

    def __str__(self) -> str:
        return ", ".join(self.lines())

    def lines(self) -> list[str]:
        city = " ".join(part for part in (self.postal_code, self.city) if part)
        parts = [self.name, self.company, self.line1, self.line2, city, self.region, self.country]
        return [part for part in parts if part]


class CustomerNote(models.Model):
    """An internal note: staff only, never shown to the shopper."""

    store = store_foreign_key(checked_through_parent=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="notes",
        db_index=False,
        db_constraint=False,  # FK (store, id): same_store_foreign_keys
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["store", "customer", "-created_at"], name="note_store_customer_idx"
            )
        ]

    def __str__(self) -> str:
        return self.body[:60]


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes/no")
    CHOICE = "choice", _("Choice")


class CustomField(models.Model):
    """A field a store defines for all its customers; values live in ``Customer.custom_fields``
    under ``key``."""

    store = store_foreign_key()
    key = models.SlugField(_("key"), max_length=60)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(
        _("type"), max_length=16, choices=CustomFieldType.choices, default=CustomFieldType.TEXT
    )
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "key"], name="customfield_store_key_unique"),
        ]

    def __str__(self) -> str:
        return self.label


class ActivityEvent(models.Model):
    """One line of a customer's activity log: who changed what, and when."""

    # Most events belong to a customer, whose (store, customer) key proves the store; the
    # few store-level ones are written by services that hold the store. Imports write one
    # event per row, so the second check would cost every import.
    store = store_foreign_key(checked_through_parent=True)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        db_constraint=False,  # FK (store, id): same_store_foreign_keys
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    verb = models.CharField(_("what"), max_length=40)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activity")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["store", "customer", "-created_at"], name="activity_store_customer_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.verb} @ {self.created_at:%Y-%m-%d %H:%M}"


class CustomerListLayout(models.Model):
    """The customer list's columns, in order, as one staff member chose them in one store
    (``customers.views.listing_rows.LIST_COLUMNS`` keys; ``cf:<key>`` for a custom field)."""

    store = store_foreign_key()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    columns = models.JSONField(_("columns"), default=list)
    updated_at = models.DateTimeField(auto_now=True)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("customer list layout")
        constraints = [
            models.UniqueConstraint(fields=["store", "user"], name="customerlistlayout_unique")
        ]

    def __str__(self) -> str:
        return ", ".join(self.columns)
