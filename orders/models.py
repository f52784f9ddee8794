"""Products, orders and their items."""

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from storefront_crm.models import Store, store_foreign_key, store_scoped_manager

MONEY = {"max_digits": 12, "decimal_places": 2, "default": Decimal("0")}


class Product(models.Model):
    store = store_foreign_key()
    name = models.CharField(_("name"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    price = models.DecimalField(_("price"), **MONEY)
    active = models.BooleanField(_("active"), default=True)
    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    supplier_price = models.DecimalField(
        _("supplier price"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]
        constraints = [
            # The target of the (store, product) foreign keys of rows that point here.
            models.UniqueConstraint(fields=["store", "id"], name="product_store_id_key"),
            models.UniqueConstraint(
                fields=["store", "sku"],
                condition=~models.Q(sku=""),
                name="product_store_sku_unique",
            ),
        ]
        indexes = [models.Index(fields=["store", "name"], name="product_store_name_idx")]

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    NEW = "new", _("New")
    PROCESSING = "processing", _("Processing")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    REJECTED = "rejected", _("Rejected")


# Orders in these states do not count towards a customer's orders and spend.
UNCOUNTED_STATUSES = (OrderStatus.CANCELLED, OrderStatus.REJECTED)


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


class FulfillmentStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", _("Unfulfilled")
    PROCESSING = "processing", _("Being prepared")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    RETURNED = "returned", _("Returned")
    NOT_REQUIRED = "not_required", _("Not required")


class OrderSequence(models.Model):
    """The last order number handed out in a store; its row lock makes numbers sequential."""

    store = models.OneToOneField(
        Store, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.store_id}: {self.last_number}"


class Order(models.Model):
    store = store_foreign_key()
    number = models.PositiveIntegerField(_("number"))
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        verbose_name=_("customer"),
        db_index=False,
        db_constraint=False,  # FK (store, id): same_store_foreign_keys
    )
    email = models.EmailField(_("email"), max_length=254)
    subtotal = models.DecimalField(_("subtotal"), **MONEY)
    discount = models.DecimalField(_("discount"), **MONEY)
    shipping = models.DecimalField(_("shipping"), **MONEY)
    tax = models.DecimalField(_("tax"), **MONEY)
    total = models.DecimalField(_("total"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.NEW
    )
    payment_status = models.CharField(
        _("payment"), max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    fulfillment_status = models.CharField(
        _("fulfilment"),
        max_length=16,
        choices=FulfillmentStatus.choices,
        default=FulfillmentStatus.UNFULFILLED,
    )
    shipping_method = models.CharField(_("shipping method"), max_length=100, blank=True)
    shipping_address = models.JSONField(_("shipping address"), default=dict, blank=True)
    billing_address = models.JSONField(_("billing address"), default=dict, blank=True)
    is_digital = models.BooleanField(_("digital or service only"), default=False)
    placed_at = models.DateTimeField(_("placed"), default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        constraints = [
            # The target of the (store, order) foreign keys of rows that point here.
            models.UniqueConstraint(fields=["store", "id"], name="order_store_id_key"),
            models.UniqueConstraint(fields=["store", "number"], name="order_store_number_unique"),
        ]
        indexes = [
            models.Index(
                fields=["store", "customer", "placed_at"], name="order_store_customer_idx"
            ),
            # Covers the sales figures of a period (index-only scan on PostgreSQL).
            models.Index(
                fields=["store", "placed_at"],
                include=["status", "total"],
                name="order_store_placed_idx",
            ),
            models.Index(fields=["store", "email"], name="order_store_email_idx"),
            models.Index(fields=["store", "status", "placed_at"], name="order_store_status_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

    @property
    def counts_for_customer(self) -> bool:
        return self.status not in UNCOUNTED_STATUSES


class OrderItem(models.Model):
    store = store_foreign_key(checked_through_parent=True)
    order = models.ForeignKey(
        Order,
        on_delete=models.CASCADE,
        related_name="items",
        db_index=False,
        db_constraint=False,  # FK (store, id): same_store_foreign_keys
    )
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order_items",
        db_index=False,
        db_constraint=False,  # FK (store, id): same_store_foreign_keys
    )
    name = models.CharField(_("name"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), **MONEY)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["store", "order"], name="orderitem_store_order_idx"),
            models.Index(fields=["store", "product"], name="orderitem_store_product_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
