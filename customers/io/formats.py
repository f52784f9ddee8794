"""The customer file formats: one django-import-export ``Resource`` per format.

A resource is the single description of a format: which column holds what (with the
header variants each system writes, ``Column.aliases``) and how a cell becomes a value
(the widget). The importer's bulk path reads these declarations; the library's own
row-by-row ``import_data`` also works with them (the benchmark measures it), and the
exporter writes the native resource's columns.

Attributes that are not ``Customer`` fields (``tag_names``, ``shipping_line1``,
``note``, ``password`` …) are handled by the bulk writer, and for the row-by-row path
by ``CustomerResource.after_save_instance``.
"""

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.fields import Field

from ..models import ADDRESS_PARTS, Customer
from .widgets import (
    AccountTypeWidget,
    CountryWidget,
    CountWidget,
    DateTimeWidget,
    EmailWidget,
    IgnoredWidget,
    MoneyWidget,
    PastDateTimeWidget,
    PhoneWidget,
    TagsWidget,
    TextWidget,
    YesNoWidget,
)

ADDRESS_KINDS = ("shipping", "billing")
# A choice field's choices in a native header: "Size (custom.size:choice=S/M/L)" (not a
# character that could be taken for the file's delimiter). The three characters that would
# end a choice or the header are written as %XX.
CHOICE_SEPARATOR = "/"
_CHOICE_ESCAPES = {"%": "%25", "/": "%2F", ")": "%29"}


def custom_column_name(label: str, key: str, field_type: str, choices: list[str]) -> str:
    """The native header of a custom field, with its type (and choices) when not text, so
    that an import into another store recreates the field as it was."""
    typed = "" if field_type == "text" else f":{field_type}"
    if field_type == "choice":
        escaped = ("".join(_CHOICE_ESCAPES.get(char, char) for char in c) for c in choices)
        typed += "=" + CHOICE_SEPARATOR.join(escaped)
    return f"{label} (custom.{key}{typed})"


def custom_column_choices(text: str | None) -> list[str]:
    """The choices of a header made by ``custom_column_name``."""
    if not text:
        return []
    return [
        re.sub(r"%(25|2F|29)", lambda m: chr(int(m[1], 16)), c, flags=re.IGNORECASE)
        for c in text.split(CHOICE_SEPARATOR)
    ]


class Column(Field):
    """A field with the header variants other systems write for it, first one preferred.

    On import the first non-empty cell among the present variants wins, so a Shopify
    legacy file's ``Country Code`` beats its ``Country`` but an empty code falls back.
    ``export=False`` marks columns that are read but never written.
    """

    def __init__(
        self,
        attribute: str,
        column_name: str,
        widget: Any,
        *,
        aliases: tuple[str, ...] = (),
        export: bool = True,
        readonly: bool = False,
    ) -> None:
        super().__init__(
            attribute=attribute, column_name=column_name, widget=widget, readonly=readonly
        )
        self.aliases = aliases
        self.exported = export

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.column_name, *self.aliases)


def address_columns(kind: str, names: dict[str, tuple[str, ...]]) -> dict[str, Column]:
    """The columns of one address kind; ``names`` maps a part to its header and aliases."""
    widgets = {"country": CountryWidget, "phone": PhoneWidget}
    lengths = {"postal_code": 20, "city": 100, "region": 100}
    columns = {}
    for part, headers in names.items():
        widget = widgets[part]() if part in widgets else TextWidget(lengths.get(part, 200))
        columns[f"{kind}_{part}"] = Column(
            f"{kind}_{part}", headers[0], widget, aliases=headers[1:]
        )
    return columns


class CustomerResource(resources.ModelResource):
    """What every customer format shares; subclasses declare the columns.

    ``format_name`` is the ``--format`` value; ``signatures`` are header sets (lower-case)
    of which one must be fully present for ``auto`` to pick this format.
    """

    format_name = ""
    label: Any = ""
    signatures: tuple[frozenset[str], ...] = ()
    # Recognised, deliberately not imported (so they are not reported as unknown).
    ignored_headers: tuple[str, ...] = ()
    # Custom field columns: "Label (custom.key)" natively, Shopify metafields likewise.
    custom_field_pattern = re.compile(
        r"^(?P<label>.*?)\s*\(\s*custom\.(?P<key>[\w-]+)"
        r"(?::(?P<type>number|date|boolean|choice)(?:=(?P<choices>[^)]*))?)?\s*\)$",
        re.IGNORECASE,
    )

    class Meta:
        model = Customer
        import_id_fields = ("email",)
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def __init__(self, store: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store

    declared_columns: list[Column] = []

    @classmethod
    def columns(cls) -> list[Column]:
        return cls.declared_columns

    # --- django-import-export's own row-by-row path (the benchmark's baseline) -------------

    def get_queryset(self):
        return Customer.objects.filter(store=self.store)

    def before_import_row(self, row: Any, **kwargs: Any) -> None:
        email = row.get("Email") or row.get("email") or ""
        row["Email"] = email.strip().lower()

    def after_init_instance(self, instance: Customer, new: bool, row: Any, **kwargs: Any) -> None:
        from ..services.groups import group_default

        instance.store = self.store
        if new:
            instance.group = group_default(self.store, instance.account_type)
            instance.source = "import"

    def after_save_instance(self, instance: Customer, row: Any, **kwargs: Any) -> None:
        from ..models import Address
        from ..services.notes import note_add
        from ..services.tags import customer_tags_add

        if kwargs.get("dry_run"):
            return
        names = getattr(instance, "tag_names", None)
        if names:
            customer_tags_add(store=self.store, customer=instance, names=names)
        for kind in ADDRESS_KINDS:
            parts = {part: getattr(instance, f"{kind}_{part}", "") or "" for part in ADDRESS_PARTS}
            if any(parts.values()):
                Address.objects.filter(
                    store=self.store, customer=instance, kind=kind, is_default=True
                ).delete()
                Address.objects.create(
                    store=self.store, customer=instance, kind=kind, is_default=True, **parts
                )
        note = getattr(instance, "note", "")
        if note:
            note_add(store=self.store, customer=instance, actor=None, body=note)


def _column(attribute: str, header: str, widget: Any, *aliases: str, **kwargs: Any) -> Column:
    return Column(attribute, header, widget, aliases=aliases, **kwargs)


def _address(kind: str, title: str, parts: dict[str, tuple[str, ...]]) -> list[Column]:
    return list(
        address_columns(
            kind, {p: tuple(h.format(t=title) for h in hs) for p, hs in parts.items()}
        ).values()
    )


def customer_resource(
    name: str, columns: list[Column], **attributes: Any
) -> type[CustomerResource]:
    """A resource class with these columns, in this order (django-import-export 4 only
    uses declared fields that ``Meta.fields`` names, so it is built here)."""
    fields = {column.attribute: column for column in columns}
    order = tuple(fields)
    meta = type(
        "Meta",
        (CustomerResource.Meta,),
        {"fields": order, "import_order": order, "export_order": order},
    )
    body = {**fields, **attributes, "Meta": meta, "__module__": __name__}
    return type(name, (CustomerResource,), {**body, "declared_columns": columns})


SQUARESPACE_ADDRESS = {
    "name": ("{t} Name",),
    "company": ("{t} Company",),
    "line1": ("{t} Address 1", "{t} Address"),
    "line2": ("{t} Address 2",),
    "postal_code": ("{t} Zip",),
    "city": ("{t} City",),
    "region": ("{t} Province/State",),
    "country": ("{t} Country",),
    "phone": ("{t} Phone", "{t} Phone Number"),
}

# Our own columns; export → import into an empty store → export gives the same file. The
# first columns are those of Squarespace's export, so that file reads the same way.
NativeResource = customer_resource(
    "NativeResource",
    [
        _column("email", "Email", EmailWidget(), "Account"),
        _column("first_name", "First Name", TextWidget(150)),
        _column("last_name", "Last Name", TextWidget(150)),
        _column("orders_count", "Total Orders", CountWidget()),
        _column("total_spent", "Total Spent", MoneyWidget()),
        _column("average_order_value", "Average Order Value", IgnoredWidget(), readonly=True),
        _column("last_order_at", "Last Order Date", DateTimeWidget()),
        _column("customer_since", "Customer Since", PastDateTimeWidget()),
        *_address("shipping", "Shipping", SQUARESPACE_ADDRESS),
        *_address("billing", "Billing", SQUARESPACE_ADDRESS),
        _column("tag_names", "Tags", TagsWidget()),
        _column("first_order_at", "First Order Date", DateTimeWidget()),
        _column("phone", "Phone", PhoneWidget()),
        _column("company", "Company", TextWidget(200)),
        _column("country", "Country", CountryWidget()),
        _column("account_type", "Account Type", AccountTypeWidget()),
        _column("is_active", "Active", YesNoWidget()),
        _column("is_blocked", "Blocked", YesNoWidget()),
        _column("email_confirmed", "Email Confirmed", YesNoWidget()),
        _column("group_name", "Group", TextWidget(80)),
        _column("accepts_marketing", "Accepts Marketing", YesNoWidget()),
        _column("marketing_consent_at", "Consent Changed", DateTimeWidget()),
        _column("tax_exempt", "Tax Exempt", YesNoWidget()),
        _column("vat_id", "VAT ID", TextWidget(32)),
    ],
    format_name="native",
    label=_("Storefront CRM (native)"),
    signatures=(frozenset({"email", "vat id", "group", "account type"}),),
)

# Shopify's customer export, current and legacy (before 2023), and its import template.
ShopifyResource = customer_resource(
    "ShopifyResource",
    [
        _column("first_name", "First Name", TextWidget(150)),
        _column("last_name", "Last Name", TextWidget(150)),
        _column("email", "Email", EmailWidget()),
        _column("accepts_marketing", "Accepts Email Marketing", YesNoWidget(), "Accepts Marketing"),
        *address_columns(
            "shipping",
            {
                "company": ("Default Address Company", "Company"),
                "line1": ("Default Address Address1", "Address1"),
                "line2": ("Default Address Address2", "Address2"),
                "city": ("Default Address City", "City"),
                "region": ("Default Address Province Code", "Province Code", "Province"),
                "country": ("Default Address Country Code", "Country Code", "Country"),
                "postal_code": ("Default Address Zip", "Zip"),
                "phone": ("Default Address Phone",),
            },
        ).values(),
        _column("phone", "Phone", PhoneWidget()),
        _column("total_spent", "Total Spent", MoneyWidget()),
        _column("orders_count", "Total Orders", CountWidget()),
        _column("note", "Note", TextWidget(10_000), export=False),
        _column("tax_exempt", "Tax Exempt", YesNoWidget()),
        _column("tag_names", "Tags", TagsWidget()),
    ],
    format_name="shopify",
    label=_("Shopify"),
    signatures=(
        frozenset({"email", "accepts email marketing"}),
        frozenset({"email", "default address address1"}),
        frozenset({"email", "address1", "province code"}),
    ),
    ignored_headers=(
        "Customer ID",
        "Accepts SMS Marketing",
        "Accepts WhatsApp Marketing",
        "Province",
        "Country",
    ),
    custom_field_pattern=re.compile(
        r"^(?P<label>.*?)\s*\(\s*customer\.metafields\.[\w-]+\.(?P<key>[\w-]+)\s*\)$",
        re.IGNORECASE,
    ),
)

# Squarespace's customer list export and its "all contacts" layout, as one format.
SquarespaceResource = customer_resource(
    "SquarespaceResource",
    [
        _column("email", "Email", EmailWidget(), "Account"),
        _column("first_name", "First Name", TextWidget(150)),
        _column("last_name", "Last Name", TextWidget(150)),
        _column("customer_since", "Customer Since", PastDateTimeWidget(), "Created On"),
        _column("orders_count", "Order Count", CountWidget(), "Total Orders"),
        _column("last_order_at", "Last Order Date", DateTimeWidget()),
        _column("total_spent", "Total Spent", MoneyWidget()),
        _column("tag_names", "Tags", TagsWidget()),
        _column("account_type", "Has Account", AccountTypeWidget()),
        *_address("shipping", "Shipping", SQUARESPACE_ADDRESS),
        *_address("billing", "Billing", SQUARESPACE_ADDRESS),
        _column("accepts_marketing", "Accepts Marketing", YesNoWidget()),
    ],
    format_name="squarespace",
    label=_("Squarespace"),
    signatures=(
        frozenset({"account"}),
        frozenset({"email", "order count"}),
        frozenset({"email", "subscriber since"}),
        frozenset({"email", "average order value", "customer since"}),
    ),
    ignored_headers=(
        "Average Order Value",
        "Member Since",
        "Subscriber Since",
        "Subscriber Source",
        "Mailing Lists",
        "Member Areas",
        "Donation Count",
        "Last Donation Date",
        "Total Donation Amount",
    ),
)

# WooCommerce Analytics → Customers, browser download and emailed export.
WooCommerceResource = customer_resource(
    "WooCommerceResource",
    [
        _column("full_name", "Name", TextWidget(301)),
        _column("customer_since", "Date registered", PastDateTimeWidget(), "Sign Up"),
        _column("email", "Email", EmailWidget()),
        _column("orders_count", "Orders", CountWidget()),
        _column("total_spent", "Total spend", MoneyWidget()),
        *address_columns(
            "billing",
            {
                "country": ("Country / Region",),
                "city": ("City",),
                "region": ("Region",),
                "postal_code": ("Postal code",),
            },
        ).values(),
    ],
    format_name="woocommerce",
    label=_("WooCommerce"),
    signatures=(
        frozenset({"email", "username", "aov"}),
        frozenset({"email", "username", "total spend"}),
    ),
    ignored_headers=("Username", "Last active", "AOV"),
)

# Ecwid's customer import: Name, Email, Password (optional; kept only as a Django
# password hash on the store's shopper login, never shown or exported).
# Ecwid's "Import customers" app: a header of Name, Email, Password, which its German and
# Italian help pages spell „Name“, „E-Mail“, „Passwort“ and "nome", "e-mail", "password".
ECWID_HEADERS = {
    "full_name": ("Name", "Nome"),
    "email": ("Email", "E-Mail"),
    "password": ("Password", "Passwort"),
}
EcwidResource = customer_resource(
    "EcwidResource",
    [
        _column("full_name", "Name", TextWidget(301), *ECWID_HEADERS["full_name"][1:]),
        _column("email", "Email", EmailWidget(), *ECWID_HEADERS["email"][1:]),
        _column(
            "password",
            "Password",
            TextWidget(128),
            *ECWID_HEADERS["password"][1:],
            export=False,
        ),
    ],
    format_name="ecwid",
    label=_("Ecwid"),
    signatures=tuple(
        frozenset({name.lower(), email.lower()})
        for name in ECWID_HEADERS["full_name"]
        for email in ECWID_HEADERS["email"]
    ),
)
# An Ecwid file has no other columns: a header with more is another system's.
ECWID_ALL_HEADERS = frozenset(h.lower() for headers in ECWID_HEADERS.values() for h in headers)


FORMATS: dict[str, type[CustomerResource]] = {
    resource.format_name: resource
    for resource in (
        NativeResource,
        EcwidResource,
        ShopifyResource,
        WooCommerceResource,
        SquarespaceResource,
    )
}


def format_detect(header: list[str]) -> str | None:
    """The format whose signature the header carries; the most specific one wins."""
    names = {" ".join(cell.split()).lower() for cell in header if cell.strip()}
    if not names:
        return None
    for name, resource in FORMATS.items():  # ordered from most to least specific
        if name == "ecwid" and not names <= ECWID_ALL_HEADERS:
            continue
        if any(signature <= names for signature in resource.signatures):
            return name
    return None
