"""The native order CSV format: one row per order item, the order's columns repeated.

Why one row per item: the file stays a plain table whatever the number of items (no
"Item 7 SKU" columns), a spreadsheet can sum or filter items directly, and an order's
rows are simply the consecutive rows with the same ``Order Number``. On import the order
columns of an order's later rows may be left empty (they repeat the first row); a
different value is a problem.

``Customer Email`` is the email of the profile the order belongs to (it may differ from
the order's own email after a reassignment). Empty means "let the rules decide", as
``order_create`` does: a profile with the order's email takes it, a paid order creates one.
So the round trip (export, import into an empty store, export) is exact for orders whose
profile link follows those rules, which is every order except a paid order detached from
its profile by hand (it comes back with a profile).

The columns are ``customers.io.formats.Column`` fields (django-import-export fields with
header aliases and the same widgets as the customer formats), so cells are read with the
same rules: decimal commas, day-first dates, neutralised formula cells.
"""

from typing import Any

from django.db.models import TextChoices
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from import_export.widgets import Widget

from customers.io.formats import ADDRESS_KINDS, SQUARESPACE_ADDRESS, Column, address_columns
from customers.io.widgets import (
    CountWidget,
    DateTimeWidget,
    EmailWidget,
    MoneyWidget,
    TextWidget,
    YesNoWidget,
    cell_text,
)

from ..models import FulfillmentStatus, OrderStatus, PaymentStatus


class ChoiceWidget(Widget):
    """A status: its stored value (``partially_refunded``) or its English or translated
    label (``Partially refunded``), any letter case; empty is ``None`` (the default)."""

    def __init__(self, choices: type[TextChoices]) -> None:
        super().__init__()
        self.choices = choices
        self._names: dict[str | None, dict[str, str]] = {}  # per language

    def _lookup(self) -> dict[str, str]:
        language = get_language()
        if language not in self._names:
            names = {}
            for choice in self.choices:
                for name in (choice.value, choice.value.replace("_", " "), str(choice.label)):
                    names[name.lower()] = choice.value
            self._names[language] = names
        return self._names[language]

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str | None:
        text = " ".join(cell_text(value).lower().split())
        if not text:
            return None
        if text in self._lookup():
            return self._lookup()[text]
        raise ValueError(
            _("Unknown status “%(value)s”; one of: %(choices)s.")
            % {"value": text, "choices": ", ".join(self.choices.values)}
        )

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return value or ""


class OrderNumberWidget(CountWidget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> int | None:
        number = super().clean(cell_text(value).lstrip("#"))
        if number is None:
            raise ValueError(_("The order number is missing."))
        if number < 1:
            raise ValueError(_("Order numbers start at 1."))
        return number


class OptionalEmailWidget(EmailWidget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        return super().clean(value) if cell_text(value) else ""


class CurrencyWidget(TextWidget):
    def __init__(self) -> None:
        super().__init__(3)

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        code = super().clean(value).upper()
        if code and not (len(code) == 3 and code.isalpha()):
            raise ValueError(_("“%(value)s” is not a currency code.") % {"value": code})
        return code


def _address_columns(kind: str) -> list[Column]:
    title = {"shipping": "Shipping", "billing": "Billing"}[kind]
    names = {
        part: tuple(header.format(t=title) for header in headers)
        for part, headers in SQUARESPACE_ADDRESS.items()
    }
    return list(address_columns(kind, names).values())


ORDER_COLUMNS: list[Column] = [
    Column("number", "Order Number", OrderNumberWidget(), aliases=("Order", "Number")),
    Column("placed_at", "Placed At", DateTimeWidget(), aliases=("Order Date", "Date")),
    Column("email", "Email", EmailWidget()),
    Column("customer_email", "Customer Email", OptionalEmailWidget()),
    Column("status", "Status", ChoiceWidget(OrderStatus), aliases=("Order Status",)),
    Column("payment_status", "Payment Status", ChoiceWidget(PaymentStatus)),
    Column(
        "fulfillment_status",
        "Fulfilment Status",
        ChoiceWidget(FulfillmentStatus),
        aliases=("Fulfillment Status",),
    ),
    Column("currency", "Currency", CurrencyWidget()),
    Column("subtotal", "Subtotal", MoneyWidget()),
    Column("discount", "Discount", MoneyWidget()),
    Column("shipping", "Shipping", MoneyWidget()),
    Column("tax", "Tax", MoneyWidget()),
    Column("total", "Total", MoneyWidget()),
    Column("shipping_method", "Shipping Method", TextWidget(100)),
    Column("is_digital", "Digital", YesNoWidget()),
    *_address_columns("shipping"),
    *_address_columns("billing"),
]
ITEM_COLUMNS: list[Column] = [
    Column("item_name", "Item Name", TextWidget(200), aliases=("Product", "Lineitem name")),
    Column("item_sku", "Item SKU", TextWidget(64), aliases=("SKU", "Lineitem sku")),
    Column("item_quantity", "Item Quantity", CountWidget(), aliases=("Quantity",)),
    Column("item_unit_price", "Item Unit Price", MoneyWidget(), aliases=("Price",)),
]
COLUMNS = ORDER_COLUMNS + ITEM_COLUMNS
REQUIRED = ("number", "placed_at", "email", "item_name", "item_unit_price")
ADDRESS_FIELDS = {kind: f"{kind}_address" for kind in ADDRESS_KINDS}

# The ordered-products export (one row per product sold; CloudCart's "Bestellte Produkte").
PRODUCT_HEADER = [
    "Product",
    "SKU",
    "Quantity Sold",
    "Orders",
    "Item Sales",
    "Supplier",
    "Lowest Supplier Price",
]
