"""Demo data: the small demo store built through the services, and the bulk seed of a big
store for benchmarks (``COPY`` on PostgreSQL, ``bulk_create`` elsewhere).

Both draw people, addresses and orders from the same pools with fixed random seeds, so a
run reproduces the same data. The demo store goes through ``customers.services`` and
``orders.services`` (every rule applies, aggregates are kept by ``order_create``); the bulk
seed writes rows directly and therefore keeps every rule itself: the store on every row
(the tag through-table included), lower-case unique emails, one default address per kind,
order numbers 1..N in the order they were placed, and customer aggregates equal to what
``customer_stats_recompute_store`` computes.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import re
import time
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from queue import Full, Queue
from threading import Event, Thread
from typing import Any

from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.io.writer import copy_escape
from customers.models import (
    ADDRESS_PARTS,
    AccountType,
    ActivityEvent,
    Address,
    AddressKind,
    Customer,
    CustomerGroup,
    CustomerNote,
    CustomerSource,
    CustomerTag,
    CustomField,
    CustomFieldType,
    TaggedCustomer,
)
from customers.services.custom_fields import custom_field_create
from customers.services.customers import customer_create
from customers.services.groups import group_create
from customers.services.notes import note_add
from customers.services.tags import tags_ensure
from storefront_crm.errors import ServiceError
from storefront_crm.models import Membership, Role, Store, User
from storefront_crm.services import membership_set, store_create
from storefront_crm.tenancy import store_scope

from .models import (
    UNCOUNTED_STATUSES,
    FulfillmentStatus,
    Order,
    OrderItem,
    OrderSequence,
    OrderStatus,
    PaymentStatus,
    Product,
)
from .services import ItemInput, order_create

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Shop"
DEMO_PASSWORD = "demo-owner-2026"
DEMO_CUSTOMERS = 250
DEMO_ORDERS = 700
# Orders whose email has no profile: the paid ones create one (source "order"), the
# unpaid ones stay guest orders without a profile.
DEMO_WALK_IN_ORDERS = 30
SEED = 2026

DAY = 86400
YEAR = 365 * DAY
Out = Callable[[str], None]


def staff_email(role: str, slug: str) -> str:
    return f"{role}@{slug}.example"


# --- Pools ----------------------------------------------------------------------------
# Names are (as written, as an email-safe ASCII form). No pool text holds a tab, newline or
# backslash, so it goes into COPY's text format as it is (tests check the pools).


@dataclass(frozen=True)
class Country:
    code: str
    weight: int
    first_names: tuple[tuple[str, str], ...]
    last_names: tuple[tuple[str, str], ...]
    places: tuple[tuple[str, str, str], ...]  # postal code, city, region
    streets: tuple[str, ...]
    number_first: bool  # "12 Main Street" rather than "Hauptstraße 12"
    phone_prefix: str
    company_suffix: str
    vat_pattern: str  # "#" is a digit; empty: no VAT IDs in this country


def _names(text: str) -> tuple[tuple[str, str], ...]:
    """``"Jürgen/juergen Anna"`` -> ``(("Jürgen", "juergen"), ("Anna", "anna"))``."""
    pairs = []
    for word in text.split(" "):
        shown, _slash, ascii_form = word.partition("/")
        shown = shown.replace("_", " ")
        pairs.append((shown, ascii_form or shown.lower()))
    return tuple(pairs)


COUNTRIES: tuple[Country, ...] = (
    Country(
        "DE",
        28,
        _names(
            "Jürgen/juergen Anna Lukas Sophie Maximilian Lea Jörg/joerg Käthe/kaethe Felix "
            "Marie Paul Hannah Özlem/oezlem"
        ),
        _names(
            "Müller/mueller Schmidt Schneider Fischer Weber Meyer Wagner Becker "
            "Schäfer/schaefer Koch Groß/gross Bauer Yılmaz/yilmaz"
        ),
        (
            ("10115", "Berlin", "Berlin"),
            ("80331", "München", "Bayern"),
            ("20095", "Hamburg", "Hamburg"),
            ("50667", "Köln", "Nordrhein-Westfalen"),
            ("60311", "Frankfurt am Main", "Hessen"),
            ("70173", "Stuttgart", "Baden-Württemberg"),
            ("04109", "Leipzig", "Sachsen"),
        ),
        ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße", "Lindenallee"),
        False,
        "+49",
        "GmbH",
        "DE#########",
    ),
    Country(
        "AT",
        10,
        _names("Lukas Anna Tobias Katharina Florian Johanna Jürgen/juergen"),
        _names("Gruber Huber Bauer Wagner Pichler Steiner Moser Höller/hoeller"),
        (
            ("1010", "Wien", "Wien"),
            ("8010", "Graz", "Steiermark"),
            ("4020", "Linz", "Oberösterreich"),
            ("5020", "Salzburg", "Salzburg"),
            ("6020", "Innsbruck", "Tirol"),
        ),
        ("Mariahilfer Straße", "Herrengasse", "Landstraße", "Kirchengasse"),
        False,
        "+43",
        "GmbH",
        "ATU########",
    ),
    Country(
        "CH",
        8,
        _names("Noah Mia Luca Lea Jonas Zoë/zoe Léa/lea Élodie/elodie"),
        _names("Meier Keller Brunner Baumann Frei Zimmermann Favre Rüegg/rueegg"),
        (
            ("8001", "Zürich", "ZH"),
            ("1201", "Genève", "GE"),
            ("4051", "Basel", "BS"),
            ("3011", "Bern", "BE"),
            ("1003", "Lausanne", "VD"),
        ),
        ("Bahnhofstrasse", "Rue du Rhône", "Marktgasse", "Seestrasse"),
        False,
        "+41",
        "AG",
        "CHE-###.###.### MWST",
    ),
    Country(
        "IT",
        9,
        _names("Giuseppe Giulia Marco Francesca Alessandro Chiara Niccolò/niccolo"),
        _names("Rossi Russo Ferrari Esposito Bianchi Romano Colombo De_Luca/deluca"),
        (
            ("00184", "Roma", "RM"),
            ("20121", "Milano", "MI"),
            ("80133", "Napoli", "NA"),
            ("10121", "Torino", "TO"),
            ("50123", "Firenze", "FI"),
            ("40121", "Bologna", "BO"),
        ),
        ("Via Roma", "Via Garibaldi", "Corso Italia", "Via dei Mille"),
        False,
        "+39",
        "S.r.l.",
        "IT###########",
    ),
    Country(
        "FR",
        9,
        _names("Jean Marie Léa/lea Hugo Chloé/chloe Louis François/francois Zoë/zoe"),
        _names("Martin Bernard Dubois Thomas Robert Lefèvre/lefevre Girard Mercier"),
        (
            ("75001", "Paris", "Île-de-France"),
            ("69001", "Lyon", "Auvergne-Rhône-Alpes"),
            ("13001", "Marseille", "Provence-Alpes-Côte d'Azur"),
            ("31000", "Toulouse", "Occitanie"),
            ("33000", "Bordeaux", "Nouvelle-Aquitaine"),
        ),
        ("rue de la Paix", "avenue Victor Hugo", "boulevard Saint-Michel", "rue des Écoles"),
        True,
        "+33",
        "SARL",
        "FR###########",
    ),
    Country(
        "ES",
        7,
        _names("José/jose María/maria Javier Lucía/lucia Álvaro/alvaro Carmen Íñigo/inigo"),
        _names(
            "García/garcia Fernández/fernandez González/gonzalez Rodríguez/rodriguez "
            "López/lopez Martínez/martinez Muñoz/munoz"
        ),
        (
            ("28001", "Madrid", "Madrid"),
            ("08001", "Barcelona", "Cataluña"),
            ("46001", "Valencia", "Comunidad Valenciana"),
            ("41001", "Sevilla", "Andalucía"),
            ("48001", "Bilbao", "País Vasco"),
        ),
        ("Calle Mayor", "Gran Vía", "Calle de Alcalá", "Passeig de Gràcia"),
        False,
        "+34",
        "S.L.",
        "ESB########",
    ),
    Country(
        "NL",
        6,
        _names("Daan Emma Sem Julia Lucas Sanne Bram"),
        _names(
            "de_Jong/dejong Jansen de_Vries/devries van_den_Berg/vandenberg Bakker Visser "
            "van_Dijk/vandijk"
        ),
        (
            ("1012 AB", "Amsterdam", "Noord-Holland"),
            ("3011 AD", "Rotterdam", "Zuid-Holland"),
            ("3511 AB", "Utrecht", "Utrecht"),
            ("2511 BT", "Den Haag", "Zuid-Holland"),
            ("5611 AB", "Eindhoven", "Noord-Brabant"),
        ),
        ("Kerkstraat", "Prinsengracht", "Dorpsstraat", "Molenweg"),
        False,
        "+31",
        "B.V.",
        "NL#########B01",
    ),
    Country(
        "PL",
        6,
        _names("Łukasz/lukasz Anna Piotr Katarzyna Michał/michal Agnieszka Paweł/pawel Zofia"),
        _names(
            "Nowak Kowalski Wiśniewski/wisniewski Wójcik/wojcik Kamiński/kaminski "
            "Lewandowska Zieliński/zielinski Szymańska/szymanska"
        ),
        (
            ("00-001", "Warszawa", "mazowieckie"),
            ("30-001", "Kraków", "małopolskie"),
            ("80-001", "Gdańsk", "pomorskie"),
            ("50-001", "Wrocław", "dolnośląskie"),
            ("60-001", "Poznań", "wielkopolskie"),
        ),
        ("ul. Marszałkowska", "ul. Długa", "ul. Piękna", "ul. Świętokrzyska"),
        False,
        "+48",
        "Sp. z o.o.",
        "PL##########",
    ),
    Country(
        "GB",
        6,
        _names("Oliver Amelia George Isla Harry Olivia Siobhan Niamh"),
        _names("Smith Jones Williams Taylor Brown Davies O'Brien/obrien Evans"),
        (
            ("SW1A 1AA", "London", "England"),
            ("M1 1AE", "Manchester", "England"),
            ("EH1 1YZ", "Edinburgh", "Scotland"),
            ("CF10 1EP", "Cardiff", "Wales"),
            ("BT1 5GS", "Belfast", "Northern Ireland"),
        ),
        ("High Street", "Station Road", "Church Lane", "Victoria Road"),
        True,
        "+44",
        "Ltd",
        "GB#########",
    ),
    Country(
        "US",
        5,
        _names("James Mary Robert Jennifer Michael Linda José/jose Chloe"),
        _names("Johnson Williams Miller Davis Garcia Rodriguez Wilson Anderson"),
        (
            ("10001", "New York", "NY"),
            ("94103", "San Francisco", "CA"),
            ("60601", "Chicago", "IL"),
            ("78701", "Austin", "TX"),
            ("98101", "Seattle", "WA"),
        ),
        ("Main Street", "Oak Avenue", "Maple Drive", "Sunset Boulevard"),
        True,
        "+1",
        "Inc.",
        "",
    ),
    Country(
        "DK",
        2,
        _names("Søren/soeren Mette Frederik Ida Mads Astrid"),
        _names("Ørsted/oersted Jensen Nielsen Hansen Pedersen Møller/moeller"),
        (
            ("1050", "København", "Hovedstaden"),
            ("8000", "Aarhus", "Midtjylland"),
            ("5000", "Odense", "Syddanmark"),
        ),
        ("Strøget", "Nørregade", "Vestergade"),
        False,
        "+45",
        "ApS",
        "DK########",
    ),
    Country(
        "GR",
        2,
        _names("Ἀλέξανδρος/alexandros Μαρία/maria Γιώργος/giorgos Ελένη/eleni Δημήτρης/dimitris"),
        _names("Παπαδόπουλος/papadopoulos Οικονόμου/oikonomou Γεωργίου/georgiou"),
        (("105 57", "Αθήνα", "Αττική"), ("546 24", "Θεσσαλονίκη", "Κεντρική Μακεδονία")),
        ("Οδός Ερμού", "Λεωφόρος Συγγρού"),
        False,
        "+30",
        "Α.Ε.",
        "EL#########",
    ),
    Country(
        "JP",
        2,
        _names("太郎/taro 花子/hanako 翔/sho 陽菜/hina 健一/kenichi"),
        _names("山田/yamada 佐藤/sato 鈴木/suzuki 高橋/takahashi 田中/tanaka"),
        (
            ("100-0001", "千代田区", "東京都"),
            ("530-0001", "大阪市北区", "大阪府"),
            ("600-8001", "京都市下京区", "京都府"),
        ),
        ("丸の内", "梅田", "四条通"),
        False,
        "+81",
        "株式会社",
        "",
    ),
)
COUNTRY_WEIGHTS = tuple(accumulate(country.weight for country in COUNTRIES))
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
# Kept apart from customers' addresses ("first.last.N@..."), so a guest order never
# belongs to a profile by its email.
GUEST_EMAIL = "guest.{index}@shoppers.example"

NOTE_BODIES = (
    "Prefers delivery after 17:00.",
    "Called about a damaged parcel — sent a replacement.",
    "Ruft lieber an, als E-Mails zu schreiben.",
    "Cliente molto gentile, chiede sempre la fattura.",
    "Asked for an invoice with the VAT ID on it.",
    "Allergic to nuts: no samples with nuts in gift boxes.",
    "Wholesale enquiry: about 20 kg a month for the café.",
    "Möchte keine Werbung per Post.",
    "Paid twice by mistake; refunded the second payment.",
    "Demande toujours un emballage cadeau.",
    "Returned two items — the sizes ran small.",
    "Prefiere que le escribamos en español.",
)

TAG_NAMES = (
    "VIP",
    "Newsletter",
    "Repeat buyer",
    "Gift buyer",
    "Returns often",
    "Trade fair 2025",
    "Influencer",
    "B2B",
    "Late payer",
    "Café owner",
    "Barista course",
    "Christmas 2025",
    "Black Friday",
    "Sample requested",
    "Complaint",
    "Referral",
    "Instagram",
    "Stammkunde",
    "Cliente fedele",
    "Wholesale lead",
)

CUSTOM_GROUPS = (("VIP", Decimal("10")), ("Wholesale", Decimal("15")))
FIELD_BIRTHDAY = ("Birthday", CustomFieldType.DATE, ())
FIELD_SHOE_SIZE = ("Shoe size", CustomFieldType.NUMBER, ())
FIELD_CONTACT = ("Preferred contact", CustomFieldType.CHOICE, ("Email", "Phone", "SMS", "Post"))
CUSTOM_FIELDS = (FIELD_BIRTHDAY, FIELD_SHOE_SIZE, FIELD_CONTACT)

# name | SKU | price | supplier | supplier price | digital or service only
PRODUCT_TABLE = """
Espresso beans Crema, 1 kg | COF-001 | 24.90 | Rösterei Müller GmbH | 13.20 |
Filter coffee Ethiopia Yirgacheffe, 500 g | COF-002 | 16.50 | Rösterei Müller GmbH | 8.10 |
Decaf Colombia, 250 g | COF-003 | 9.90 | Rösterei Müller GmbH | 4.60 |
Caffè Napoletano, 1 kg | COF-004 | 21.00 | Torrefazione Esposito S.r.l. | 11.40 |
Sencha Uji, 100 g | TEA-001 | 14.80 | Yamada Tea Co. | 7.00 |
Earl Grey loose leaf, 250 g | TEA-002 | 11.90 | Britannia Teas Ltd | 5.30 |
Rooibos vanilla, 200 g | TEA-003 | 8.40 | Britannia Teas Ltd | 3.90 |
Matcha ceremonial, 30 g | TEA-004 | 29.00 | Yamada Tea Co. | 15.50 |
Hand grinder Comandante C40 | EQP-001 | 259.00 | Kaffeetechnik Groß GmbH | 182.00 |
Moka pot 6 cups | EQP-002 | 39.90 | Torrefazione Esposito S.r.l. | 21.00 |
Pour-over kettle 1 l | EQP-003 | 54.00 | Kaffeetechnik Groß GmbH | 31.00 |
French press 0.8 l | EQP-004 | 32.50 | Nordisk Design ApS | 17.20 |
Milk jug 600 ml | EQP-005 | 19.90 | Kaffeetechnik Groß GmbH | 9.80 |
Digital scale 0.1 g | EQP-006 | 44.00 | Kaffeetechnik Groß GmbH | 23.50 |
Espresso machine Lelit Anna | EQP-007 | 449.00 | Macchine Bianchi S.r.l. | 338.00 |
Paper filters 100 pcs | ACC-001 | 4.90 | Nordisk Design ApS | 1.70 |
Knock box | ACC-002 | 24.00 | Nordisk Design ApS | 11.00 |
Tamper 58 mm | ACC-003 | 36.00 | Macchine Bianchi S.r.l. | 16.00 |
Descaler 500 ml | ACC-004 | 12.50 | Kaffeetechnik Groß GmbH | 5.10 |
Ceramic cup set (4) | ACC-005 | 42.00 | Porcelanas García S.L. | 19.00 |
Travel mug 350 ml | ACC-006 | 22.00 | Nordisk Design ApS | 9.90 |
Tea infuser | ACC-007 | 7.90 | Britannia Teas Ltd | 2.60 |
Glass teapot 1 l | ACC-008 | 27.50 | Porcelanas García S.L. | 12.80 |
Chocolate drink 500 g | GRO-001 | 12.90 | Chocolaterie Lefèvre SARL | 6.20 |
Biscotti alle mandorle, 250 g | GRO-002 | 6.90 | Torrefazione Esposito S.r.l. | 3.10 |
Stroopwafels, 8 pcs | GRO-003 | 5.50 | Bakkerij Visser B.V. | 2.20 |
Oat drink barista, 1 l | GRO-004 | 2.99 | Bakkerij Visser B.V. | 1.40 |
Syrup caramel, 700 ml | GRO-005 | 9.50 | Chocolaterie Lefèvre SARL | 4.30 |
Coffee subscription, monthly box | SUB-001 | 34.00 | Rösterei Müller GmbH | 18.00 |
Gift box Tasting Journey | GFT-001 | 49.00 | Rösterei Müller GmbH | 24.00 |
Apron, denim | MER-001 | 38.00 | Nordisk Design ApS | 16.50 |
Tote bag | MER-002 | 12.00 | Nordisk Design ApS | 3.80 |
Poster Coffee Map A2 | MER-003 | 18.00 | Druckerei Koch GmbH | 4.50 |
Gift card 25 € | GC-025 | 25.00 | | | digital
Gift card 50 € | GC-050 | 50.00 | | | digital
E-book: Brewing at Home | EBK-001 | 9.99 | Verlag Schneider | 2.00 | digital
Online course: Latte Art | CRS-001 | 59.00 | Barista Academy Łódź | 20.00 | digital
Barista workshop (in store) | WRK-001 | 89.00 | | | digital
Cupping session ticket | WRK-002 | 25.00 | | | digital
Machine service appointment | SRV-001 | 75.00 | Macchine Bianchi S.r.l. | 40.00 | digital
"""
PRODUCTS: tuple[tuple[str, ...], ...] = tuple(
    tuple(cell.strip() for cell in line.split("|")) for line in PRODUCT_TABLE.strip().splitlines()
)

# name, price in cents; digital orders have no shipping method
SHIPPING_METHODS = (
    ("DHL Paket", 490),
    ("DPD Classic", 590),
    ("UPS Standard", 690),
    ("GLS Business", 590),
    ("Express 24h", 1290),
    ("Click & Collect", 0),
)
SHIPPING_WEIGHTS = tuple(accumulate((40, 20, 12, 8, 8, 12)))
FREE_SHIPPING_FROM = 5000  # cents
TAX_PERCENT = 19


# --- People and orders, shared by both modes -------------------------------------------


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    country: str
    phone: str
    company: str
    vat_id: str
    line1: str
    postal_code: str
    city: str
    region: str

    def address(self) -> dict[str, str]:
        return {
            "name": f"{self.first_name} {self.last_name}",
            "company": self.company,
            "line1": self.line1,
            "line2": "",
            "postal_code": self.postal_code,
            "city": self.city,
            "region": self.region,
            "country": self.country,
            "phone": self.phone,
        }


def weighted(rng: random.Random, population: Sequence[Any], cum_weights: Sequence[int]) -> Any:
    """``rng.choices(population, cum_weights=...)[0]``, several times faster."""
    return population[bisect_right(cum_weights, rng.random() * cum_weights[-1])]


def _digits(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randrange(10)) if char == "#" else char for char in pattern)


def person_draw(rng: random.Random, index: int) -> Person:
    """A plausible person of one of the pool countries; the email carries ``index``, which
    makes it unique among the people of one seed run."""
    country = weighted(rng, COUNTRIES, COUNTRY_WEIGHTS)
    first, first_ascii = rng.choice(country.first_names)
    last, last_ascii = rng.choice(country.last_names)
    postal_code, city, region = rng.choice(country.places)
    street, number = rng.choice(country.streets), rng.randint(1, 180)
    line1 = f"{number} {street}" if country.number_first else f"{street} {number}"
    business = rng.random() < 0.12
    company = f"{last} {country.company_suffix}" if business else ""
    vat_id = ""
    if business and country.vat_pattern and rng.random() < 0.8:
        vat_id = _digits(rng, country.vat_pattern)
    return Person(
        first_name=first,
        last_name=last,
        email=f"{first_ascii}.{last_ascii}.{index}@{rng.choice(EMAIL_DOMAINS)}",
        country=country.code,
        phone=f"{country.phone_prefix} {rng.randint(20, 999)} {rng.randint(100000, 9999999)}",
        company=company,
        vat_id=vat_id,
        line1=line1,
        postal_code=postal_code,
        city=city,
        region=region,
    )


@dataclass(frozen=True)
class CatalogueProduct:
    pk: int
    name: str
    sku: str
    price_cents: int
    digital: bool


@dataclass(frozen=True)
class OrderDraft:
    """An order's contents and states; money in cents."""

    items: tuple[tuple[CatalogueProduct, int], ...]
    subtotal: int
    discount: int
    shipping: int
    tax: int
    total: int
    status: str
    payment_status: str
    fulfillment_status: str
    shipping_method: str
    is_digital: bool

    @property
    def counts_for_customer(self) -> bool:
        return self.status not in UNCOUNTED_STATUSES


def order_draw(
    rng: random.Random,
    *,
    age_seconds: int,
    tax_exempt: bool,
    physical: Sequence[CatalogueProduct],
    digital: Sequence[CatalogueProduct],
    paid_only: bool = False,
    unpaid_only: bool = False,
) -> OrderDraft:
    """A plausible order: states follow its age (recent orders are still open), about 5 %
    cancelled and 2 % rejected, refunds on some completed ones."""
    is_digital = rng.random() < 0.08
    pool = digital if is_digital else physical
    size = weighted(rng, (1, 2, 3, 4), (50, 80, 93, 100))
    items = tuple(
        (product, weighted(rng, (1, 2, 3), (80, 95, 100)))
        for product in rng.sample(pool, min(size, len(pool)))
    )
    subtotal = sum(product.price_cents * quantity for product, quantity in items)
    discount = subtotal // 10 if rng.random() < 0.15 else 0
    if is_digital:
        method, shipping = "", 0
    else:
        method, shipping = weighted(rng, SHIPPING_METHODS, SHIPPING_WEIGHTS)
        if subtotal - discount >= FREE_SHIPPING_FROM:
            shipping = 0
    tax = 0 if tax_exempt else ((subtotal - discount + shipping) * TAX_PERCENT + 50) // 100
    done = FulfillmentStatus.NOT_REQUIRED if is_digital else FulfillmentStatus.DELIVERED
    roll = rng.random()
    if unpaid_only:
        roll = min(roll, 0.069)  # cancelled, rejected or still open and unpaid
    if roll < 0.05:
        status = OrderStatus.CANCELLED
        payment = PaymentStatus.REFUNDED if rng.random() < 0.3 else PaymentStatus.PENDING
        fulfilment = FulfillmentStatus.UNFULFILLED
    elif roll < 0.07:
        status, payment = OrderStatus.REJECTED, PaymentStatus.PENDING
        fulfilment = FulfillmentStatus.UNFULFILLED
    elif age_seconds < 2 * DAY:
        status = OrderStatus.NEW
        payment = PaymentStatus.PENDING if rng.random() < 0.4 else PaymentStatus.PAID
        fulfilment = done if is_digital else FulfillmentStatus.UNFULFILLED
    elif age_seconds < 7 * DAY:
        status, payment = OrderStatus.PROCESSING, PaymentStatus.PAID
        fulfilment = done if is_digital else rng.choice(("processing", "shipped"))
    else:
        status, fulfilment, roll = OrderStatus.COMPLETED, done, rng.random()
        payment = PaymentStatus.PAID
        if roll < 0.05:
            payment = PaymentStatus.REFUNDED
            fulfilment = done if is_digital else FulfillmentStatus.RETURNED
        elif roll < 0.10:
            payment = PaymentStatus.PARTIALLY_REFUNDED
    if unpaid_only and payment != PaymentStatus.PENDING:
        status, payment = OrderStatus.CANCELLED, PaymentStatus.PENDING
        fulfilment = FulfillmentStatus.UNFULFILLED
    if paid_only:
        status, payment = OrderStatus.COMPLETED, PaymentStatus.PAID
        fulfilment = done
    return OrderDraft(
        items=items,
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=subtotal - discount + shipping + tax,
        status=status,
        payment_status=payment,
        fulfillment_status=fulfilment,
        shipping_method=method,
        is_digital=is_digital,
    )


def cents(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


def _money(amount: int) -> Decimal:
    return Decimal(cents(amount))


def _ts(value: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)


# --- Store, staff and the store's setup (both modes) --------------------------------------


@dataclass
class SeedLog:
    """What a seed did, phase by phase, printed as it goes."""

    out: Out
    lines: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def say(self, line: str) -> None:
        self.lines.append(line)
        self.out(line)

    def phase(self, name: str, started: float, detail: str = "") -> None:
        self.record(name, time.perf_counter() - started, detail)

    def record(self, name: str, seconds: float, detail: str = "") -> None:
        self.timings[name] = seconds
        self.say(f"  {name:<26} {seconds:8.2f} s  {detail}".rstrip())


def store_with_staff_ensure(*, slug: str, name: str, log: SeedLog) -> Store:
    """The store with an owner, a manager and a support login (``<role>@<slug>.example``,
    password ``DEMO_PASSWORD``); an existing store and existing logins stay as they are."""
    store = Store.objects.filter(slug=slug).first()
    if store is None:
        store = store_create(
            slug=slug,
            name=name,
            owner_email=staff_email("owner", slug),
            password=DEMO_PASSWORD,
            currency="EUR",
        )
        log.say(f"Created store “{store.name}” ({slug}).")
    else:
        log.say(f"Store “{store.name}” ({slug}) exists; keeping it.")
    for role in (Role.OWNER, Role.MANAGER, Role.SUPPORT):
        email = staff_email(role, slug)
        if not Membership.objects.filter(store=store, user__email=email).exists():
            membership_set(store=store, actor=None, email=email, role=role, password=DEMO_PASSWORD)
    return store


@dataclass(frozen=True)
class Catalogue:
    groups: dict[str, CustomerGroup]  # "guests", "standard", "vip", "wholesale"
    tags: list[CustomerTag]
    fields: dict[str, CustomField]  # by label
    physical: list[CatalogueProduct]
    digital: list[CatalogueProduct]
    staff: list[User]


def catalogue_ensure(*, store: Store, actor: User | None) -> Catalogue:
    """Groups, tags, custom fields and products of a seeded store, created when missing."""
    for name, discount in CUSTOM_GROUPS:
        if not CustomerGroup.objects.filter(store=store, name__iexact=name).exists():
            group_create(store=store, actor=actor, name=name, discount_percent=discount)
    groups = {group.kind: group for group in CustomerGroup.objects.filter(store=store)}
    for name, _discount in CUSTOM_GROUPS:
        groups[name.lower()] = CustomerGroup.objects.get(store=store, name__iexact=name)
    tags = tags_ensure(store=store, names=TAG_NAMES)
    for label, field_type, choices in CUSTOM_FIELDS:
        if not CustomField.objects.filter(store=store, label__iexact=label).exists():
            custom_field_create(
                store=store, actor=actor, label=label, field_type=field_type, choices=choices
            )
    fields = {f.label: f for f in CustomField.objects.filter(store=store)}
    products = []
    for name, sku, price, supplier, supplier_price, digital in PRODUCTS:
        product, _created = Product.objects.get_or_create(
            store=store,
            sku=sku,
            defaults={
                "name": name,
                "price": Decimal(price),
                "supplier": supplier,
                "supplier_price": Decimal(supplier_price) if supplier_price else None,
            },
        )
        products.append(
            CatalogueProduct(
                product.pk, product.name, product.sku, int(product.price * 100), bool(digital)
            )
        )
    staff = [
        membership.user
        for membership in Membership.objects.filter(store=store)
        .select_related("user")
        .order_by("pk")
    ]
    return Catalogue(
        groups=groups,
        tags=tags,
        fields=fields,
        physical=[p for p in products if not p.digital],
        digital=[p for p in products if p.digital],
        staff=staff,
    )


def custom_values_draw(rng: random.Random, fields: dict[str, CustomField]) -> dict[str, Any]:
    """Values for some of the seeded custom fields, as the services store them."""
    values: dict[str, Any] = {}
    if rng.random() < 0.35:
        birthday = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(20000))
        values[fields[FIELD_BIRTHDAY[0]].key] = birthday.isoformat()
    if rng.random() < 0.2:
        values[fields[FIELD_SHOE_SIZE[0]].key] = rng.randint(35, 47)
    if rng.random() < 0.3:
        values[fields[FIELD_CONTACT[0]].key] = rng.choice(FIELD_CONTACT[2])
    return values


# --- The demo store, through the services -----------------------------------------------


@dataclass(frozen=True)
class DemoCustomer:
    person: Person
    since: int
    source: str
    account_type: str
    group: str  # key of Catalogue.groups
    tax_exempt: bool
    accepts_marketing: bool
    consent_at: int | None
    is_active: bool
    is_blocked: bool
    email_confirmed: bool
    custom_fields: dict[str, Any]
    tags: tuple[str, ...]
    addresses: tuple[tuple[str, bool, dict[str, str]], ...]  # kind, default, address
    notes: tuple[tuple[int, str, int], ...]  # staff index, body, written at
    weight: float  # how often this customer orders


@dataclass(frozen=True)
class DemoOrder:
    email: str
    placed_at: int
    draft: OrderDraft
    address: dict[str, str]
    customer_defaults: dict[str, Any]


def _demo_customer_draw(
    rng: random.Random, index: int, now: int, catalogue: Catalogue
) -> DemoCustomer:
    person = person_draw(rng, index)
    since = now - int(3 * YEAR * rng.random() ** 1.5) - DAY
    source = weighted(
        rng,
        (CustomerSource.ORDER, CustomerSource.SIGNUP, CustomerSource.IMPORT, CustomerSource.MANUAL),
        (45, 80, 92, 100),
    )
    registered = source == CustomerSource.SIGNUP or rng.random() < 0.4
    account_type = AccountType.REGISTERED if registered else AccountType.GUEST
    weight = min(rng.paretovariate(1.5), 25.0) if rng.random() < 0.85 else 0.0
    group = "standard" if registered else "guests"
    if person.company and rng.random() < 0.6:
        group = "wholesale"
    elif registered and weight > 4:
        group = "vip"
    accepts = rng.random() < 0.45
    withdrew = not accepts and rng.random() < 0.1
    consent_at = since + rng.randrange(now - since) if accepts or withdrew else None
    addresses: list[tuple[str, bool, dict[str, str]]] = []
    if rng.random() < 0.8:
        addresses.append((AddressKind.SHIPPING, True, person.address()))
        if person.company or rng.random() < 0.25:
            billing = person.address() | {"line1": f"Postfach {rng.randint(100, 9999)}"}
            addresses.append((AddressKind.BILLING, True, billing))
        if rng.random() < 0.15:
            extra = person_draw(rng, index)
            addresses.append((AddressKind.SHIPPING, False, extra.address()))
    notes = tuple(
        (
            rng.randrange(len(catalogue.staff)),
            rng.choice(NOTE_BODIES),
            since + rng.randrange(now - since),
        )
        for _ in range(weighted(rng, (0, 1, 2), (75, 93, 100)))
    )
    tag_count = weighted(rng, (0, 1, 2, 3), (45, 75, 92, 100))
    return DemoCustomer(
        person=person,
        since=since,
        source=source,
        account_type=account_type,
        group=group,
        tax_exempt=bool(person.vat_id) and person.country != "DE" and rng.random() < 0.7,
        accepts_marketing=accepts,
        consent_at=consent_at,
        is_active=rng.random() > 0.03,
        is_blocked=rng.random() < 0.02,
        email_confirmed=registered and rng.random() < 0.85,
        custom_fields=custom_values_draw(rng, catalogue.fields),
        tags=tuple(rng.sample(TAG_NAMES, tag_count)),
        addresses=tuple(addresses),
        notes=notes,
        weight=weight,
    )


def demo_plan(now: int, catalogue: Catalogue) -> tuple[list[DemoCustomer], list[DemoOrder]]:
    """The demo store's customers and its orders sorted by time; the same every run."""
    rng = random.Random(SEED)
    customers = [_demo_customer_draw(rng, index, now, catalogue) for index in range(DEMO_CUSTOMERS)]
    rng = random.Random(SEED + 1)
    two_years_ago = now - 2 * YEAR
    orders: list[DemoOrder] = []
    buyers = [customer for customer in customers if customer.weight > 0]
    weights = [customer.weight for customer in buyers]
    for _order in range(DEMO_ORDERS - DEMO_WALK_IN_ORDERS):
        customer = rng.choices(buyers, weights=weights)[0]
        start = max(customer.since, two_years_ago)
        placed = start + rng.randrange(max(now - start, 1))
        draft = order_draw(
            rng,
            age_seconds=now - placed,
            tax_exempt=customer.tax_exempt,
            physical=catalogue.physical,
            digital=catalogue.digital,
        )
        orders.append(
            DemoOrder(customer.person.email, placed, draft, customer.person.address(), {})
        )
    # Walk-in orders for emails without a profile: paid ones create the profile.
    for index in range(DEMO_WALK_IN_ORDERS):
        person = person_draw(rng, DEMO_CUSTOMERS + index)
        placed = two_years_ago + rng.randrange(2 * YEAR)
        paid = index % 2 == 0
        draft = order_draw(
            rng,
            age_seconds=now - placed,
            tax_exempt=False,
            physical=catalogue.physical,
            digital=catalogue.digital,
            paid_only=paid,
            unpaid_only=not paid,
        )
        defaults = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "phone": person.phone,
            "country": person.country,
            "customer_since": _ts(placed),
        }
        orders.append(DemoOrder(person.email, placed, draft, person.address(), defaults))
    orders.sort(key=lambda order: order.placed_at)
    return customers, orders


def _demo_customer_create(
    *, store: Store, catalogue: Catalogue, customer: DemoCustomer, first_order: int | None
) -> None:
    person = customer.person
    since = min(customer.since, first_order) if first_order is not None else customer.since
    owner = catalogue.staff[0]
    created = customer_create(
        store=store,
        actor=owner,
        email=person.email,
        group=catalogue.groups[customer.group],
        tags=customer.tags,
        accepts_marketing=customer.accepts_marketing,
        first_name=person.first_name,
        last_name=person.last_name,
        phone=person.phone,
        country=person.country,
        company=person.company,
        vat_id=person.vat_id,
        tax_exempt=customer.tax_exempt,
        customer_since=_ts(since),
        source=customer.source,
        account_type=customer.account_type,
        is_active=customer.is_active,
        is_blocked=customer.is_blocked,
        email_confirmed=customer.email_confirmed,
        custom_fields=customer.custom_fields,
    )
    # The services stamp consent "now"; a demo wants the moment it was given back then.
    Customer.objects.filter(store=store, pk=created.pk).update(
        marketing_consent_at=_ts(customer.consent_at) if customer.consent_at else None
    )
    for kind, is_default, address in customer.addresses:
        Address.objects.create(
            store=store, customer=created, kind=kind, is_default=is_default, **address
        )
    for staff_index, body, written_at in customer.notes:
        note = note_add(
            store=store, customer=created, actor=catalogue.staff[staff_index], body=body
        )
        CustomerNote.objects.filter(store=store, pk=note.pk).update(created_at=_ts(written_at))


def demo_store_seed(*, slug: str = DEMO_SLUG, name: str = DEMO_NAME, log: SeedLog) -> Store:
    """Create the demo store, or top it up to the planned data; never duplicates."""
    now = int(timezone.now().timestamp()) // DAY * DAY  # one plan per day
    started = time.perf_counter()
    with transaction.atomic():
        store = store_with_staff_ensure(slug=slug, name=name, log=log)
        with store_scope(store):
            catalogue = catalogue_ensure(store=store, actor=None)
            customers, orders = demo_plan(now, catalogue)
            first_orders: dict[str, int] = {}
            for order in orders:
                first_orders.setdefault(order.email, order.placed_at)
            existing = set(
                Customer.objects.filter(
                    store=store, email__in=[c.person.email for c in customers]
                ).values_list("email", flat=True)
            )
            created_customers = 0
            for customer in customers:
                if customer.person.email in existing:
                    continue
                _demo_customer_create(
                    store=store,
                    catalogue=catalogue,
                    customer=customer,
                    first_order=first_orders.get(customer.person.email),
                )
                created_customers += 1
            log.say(f"Customers: {created_customers} created, {len(existing)} already there.")
            placed = Order.objects.filter(store=store).count()
            products = {p.pk: p for p in Product.objects.filter(store=store)}
            for order in orders[placed:]:
                draft = order.draft
                order_create(
                    store=store,
                    actor=None,
                    email=order.email,
                    items=[
                        ItemInput(
                            name=item.name,
                            sku=item.sku,
                            unit_price=_money(item.price_cents),
                            quantity=quantity,
                            product=products[item.pk],
                        )
                        for item, quantity in draft.items
                    ],
                    discount=_money(draft.discount),
                    shipping=_money(draft.shipping),
                    tax=_money(draft.tax),
                    status=draft.status,
                    payment_status=draft.payment_status,
                    fulfillment_status=draft.fulfillment_status,
                    shipping_method=draft.shipping_method,
                    shipping_address={} if draft.is_digital else order.address,
                    billing_address=order.address,
                    is_digital=draft.is_digital,
                    placed_at=_ts(order.placed_at),
                    customer_defaults=order.customer_defaults,
                )
            log.say(
                f"Orders: {max(len(orders) - placed, 0)} placed, {min(placed, len(orders))} "
                "already there."
            )
    log.phase("demo store", started)
    return store


# --- The bulk seed ------------------------------------------------------------------------
# Rows are tuples of strings in PostgreSQL's COPY text format ("\N" is NULL); the COPY
# writer joins them, the bulk_create writer turns them back into values.

NULL = "\\N"
BULK_CHUNK = 5000  # customers per chunk: bounded memory, a few COPY statements each
PLAN_CHUNK = 10000
CUSTOMER_SPAN = 6 * YEAR
GUEST_ORDER_SHARE = 100  # one order in this many has no profile (unpaid guest orders)
_TIMES_OF_DAY = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]
_DATES: dict[int, str] = {}


def ts_text(value: int) -> str:
    day, second = divmod(value, DAY)
    date = _DATES.get(day)
    if date is None:
        date = _DATES[day] = (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).isoformat()
    return f"{date} {_TIMES_OF_DAY[second]}"


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\\", "\\\\")


_COPY_UNESCAPE = re.compile(r"\\(.)")
_COPY_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def copy_untext(value: str) -> str:
    return _COPY_UNESCAPE.sub(lambda m: _COPY_ESCAPES.get(m.group(1), m.group(1)), value)


@dataclass(frozen=True)
class BulkTable:
    model: type[models.Model]
    fields: tuple[str, ...]  # attribute names, in row order

    @property
    def db_table(self) -> str:
        return self.model._meta.db_table

    def columns(self) -> list[str]:
        return [self.model._meta.get_field(name).column for name in self.fields]


CUSTOMERS = BulkTable(
    Customer,
    (
        "id",
        "store_id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "country",
        "company",
        "customer_since",
        "source",
        "account_type",
        "is_active",
        "is_blocked",
        "email_confirmed",
        "accepts_marketing",
        "marketing_consent_at",
        "tax_exempt",
        "vat_id",
        "group_id",
        "custom_fields",
        "orders_count",
        "total_spent",
        "first_order_at",
        "last_order_at",
        "created_at",
        "updated_at",
    ),
)
ADDRESSES = BulkTable(
    Address, ("id", "store_id", "customer_id", "kind", "is_default", *ADDRESS_PARTS)
)
TAGGINGS = BulkTable(TaggedCustomer, ("id", "store_id", "content_object_id", "tag_id"))
NOTES = BulkTable(
    CustomerNote, ("id", "store_id", "customer_id", "author_id", "body", "created_at")
)
ORDERS = BulkTable(
    Order,
    (
        "id",
        "store_id",
        "number",
        "customer_id",
        "email",
        "subtotal",
        "discount",
        "shipping",
        "tax",
        "total",
        "currency",
        "status",
        "payment_status",
        "fulfillment_status",
        "shipping_method",
        "shipping_address",
        "billing_address",
        "is_digital",
        "placed_at",
        "created_at",
        "updated_at",
    ),
)
ORDER_ITEMS = BulkTable(
    OrderItem, ("id", "store_id", "order_id", "product_id", "name", "sku", "quantity", "unit_price")
)
# Parents before children: every chunk is written in this order.
BULK_TABLES = (CUSTOMERS, ADDRESSES, TAGGINGS, NOTES, ORDERS, ORDER_ITEMS)
# Deleted children first when a store's data is replaced.
PURGE_MODELS: tuple[type[models.Model], ...] = (
    OrderItem,
    Order,
    TaggedCustomer,
    Address,
    CustomerNote,
    ActivityEvent,
    Customer,
)


@dataclass(frozen=True)
class CustomerPlan:
    index: int
    since: int
    order_times: tuple[int, ...]  # sorted
    joined_by_order: bool


def _order_count_draw(rng: random.Random) -> int:
    """Many customers with 0-3 orders, a long tail of heavy buyers (mean about 2.9)."""
    roll = rng.random()
    if roll < 0.30:
        return 0
    if roll < 0.55:
        return 1
    if roll < 0.70:
        return 2
    if roll < 0.80:
        return 3
    if roll < 0.97:
        return 4 + int(rng.expovariate(1 / 3))
    return min(10 + int(rng.paretovariate(1.5) * 5), 400)


def _counts_fit(rng: random.Random, counts: list[int], quota: int) -> None:
    """Add or take single orders at random until the counts sum to ``quota`` exactly;
    additions go to customers who already buy, which keeps the zeros and grows the tail."""
    difference = quota - sum(counts)
    size = len(counts)
    buyers = [k for k, count in enumerate(counts) if count] or list(range(size))
    while difference > 0:
        counts[buyers[rng.randrange(len(buyers))]] += 1
        difference -= 1
    while difference < 0:
        k = rng.randrange(size)
        if counts[k]:
            counts[k] -= 1
            difference += 1


def customer_plans(*, customers: int, orders: int, seed: int, now: int) -> Iterator[CustomerPlan]:
    """When each customer joined and placed orders; cheap, and the same on every call.

    Customers join over ``CUSTOMER_SPAN``, more of them recently, with ids growing with
    their join time; their order counts sum to exactly ``orders``.
    """
    rng = random.Random(seed)
    for start in range(0, customers, PLAN_CHUNK):
        end = min(customers, start + PLAN_CHUNK)
        counts = [_order_count_draw(rng) for _ in range(end - start)]
        _counts_fit(rng, counts, orders * end // customers - orders * start // customers)
        for offset, count in enumerate(counts):
            index = start + offset
            # A growing store: the share of customers joined by time t grows like t².
            joined = math.sqrt((index + rng.random()) / customers)
            since = min(now - CUSTOMER_SPAN + int(CUSTOMER_SPAN * joined), now - 3600)
            joined_by_order = count > 0 and rng.random() < 0.6
            if not count:
                times: tuple[int, ...] = ()
            else:
                first = since + (rng.randrange(60, 3600) if joined_by_order else 0)
                first = min(first, now - 120)
                if not joined_by_order:  # a minute after joining at the earliest
                    first += 60 + rng.randrange(now - first - 60)
                times = tuple(
                    sorted(
                        [first] + [first + rng.randrange(now - first + 1) for _ in range(count - 1)]
                    )
                )
            yield CustomerPlan(index, since, times, joined_by_order)


def guest_order_times(*, count: int, seed: int, now: int) -> Iterator[int]:
    rng = random.Random(seed)
    for _order in range(count):
        yield now - rng.randrange(2 * YEAR)


@dataclass
class OrderNumbers:
    """Order numbers 1..N in the order orders were placed, handed out while the orders are
    written customer by customer: a first pass counts the orders of every minute, so each
    minute knows where its numbers start. Inside a minute the seconds are spread in number
    order, so that numbers and placed times rise together."""

    start: int
    per_minute: array
    first_number: array
    next_number: array

    @classmethod
    def from_times(cls, times: Iterator[int], *, start: int, end: int) -> OrderNumbers:
        per_minute = array("q", bytes(8 * ((end - start) // 60 + 2)))
        for value in times:
            per_minute[(value - start) // 60] += 1
        firsts = array("q", accumulate(per_minute, initial=1))
        return cls(start, per_minute, firsts, array("q", firsts))

    def take(self, value: int) -> tuple[int, int]:
        """The number and the placed time (in the same minute as ``value``) of an order."""
        minute = (value - self.start) // 60
        number = self.next_number[minute]
        self.next_number[minute] = number + 1
        rank = number - self.first_number[minute]
        return number, self.start + minute * 60 + rank * 60 // self.per_minute[minute]


@dataclass
class IdBlock:
    """Ids for one table, handed out from ``next_id`` up (the table is locked meanwhile)."""

    next_id: int
    last_id: int = 0

    def take(self) -> int:
        value = self.next_id
        self.next_id += 1
        self.last_id = value
        return value


@dataclass
class BulkSpec:
    store: Store
    catalogue: Catalogue
    customers: int
    orders: int
    seed: int
    now: int

    @property
    def guest_orders(self) -> int:
        return self.orders // GUEST_ORDER_SHARE

    @property
    def customer_orders(self) -> int:
        return self.orders - self.guest_orders


def _all_order_times(spec: BulkSpec) -> Iterator[int]:
    for plan in customer_plans(
        customers=spec.customers, orders=spec.customer_orders, seed=spec.seed, now=spec.now
    ):
        yield from plan.order_times
    yield from guest_order_times(count=spec.guest_orders, seed=spec.seed + 2, now=spec.now)


Chunk = dict[BulkTable, list[tuple[str, ...]]]


class _OrderWriter:
    """Turns drafts into order and item rows (shared by customers' and guest orders)."""

    def __init__(self, spec: BulkSpec, numbers: OrderNumbers, ids: dict[BulkTable, IdBlock]):
        self.store_id = str(spec.store.pk)
        self.currency = spec.store.currency
        self.numbers = numbers
        self.order_base = ids[ORDERS].next_id - 1  # order id = base + number
        self.item_ids = ids[ORDER_ITEMS]
        self.item_texts = {
            p.pk: (str(p.pk), copy_escape(p.name), copy_escape(p.sku), cents(p.price_cents))
            for p in spec.catalogue.physical + spec.catalogue.digital
        }

    def write(
        self,
        chunk: Chunk,
        *,
        placed: int,
        draft: OrderDraft,
        customer_id: str,
        email: str,
        address: str,
    ) -> int:
        """Append the order and its items; returns the time it was placed."""
        number, placed = self.numbers.take(placed)
        order_id = str(self.order_base + number)
        placed_text = ts_text(placed)
        chunk[ORDERS].append(
            (
                order_id,
                self.store_id,
                str(number),
                customer_id,
                email,
                cents(draft.subtotal),
                cents(draft.discount),
                cents(draft.shipping),
                cents(draft.tax),
                cents(draft.total),
                self.currency,
                draft.status,
                draft.payment_status,
                draft.fulfillment_status,
                draft.shipping_method,
                "{}" if draft.is_digital else address,
                address,
                "t" if draft.is_digital else "f",
                placed_text,
                placed_text,
                placed_text,
            )
        )
        items = chunk[ORDER_ITEMS]
        for product, quantity in draft.items:
            pk, name, sku, price = self.item_texts[product.pk]
            items.append(
                (
                    str(self.item_ids.take()),
                    self.store_id,
                    order_id,
                    pk,
                    name,
                    sku,
                    str(quantity),
                    price,
                )
            )
        return placed


def order_numbers_plan(spec: BulkSpec) -> OrderNumbers:
    return OrderNumbers.from_times(
        _all_order_times(spec), start=spec.now - CUSTOMER_SPAN - 3600, end=spec.now
    )


def bulk_rows(
    spec: BulkSpec, ids: dict[BulkTable, IdBlock], numbers: OrderNumbers
) -> Iterator[Chunk]:
    """Every row of the seed, chunk by chunk, parents before children in each chunk."""
    catalogue, now = spec.catalogue, spec.now
    rng = random.Random(spec.seed + 1)
    store_id = str(spec.store.pk)
    orders = _OrderWriter(spec, numbers, ids)
    groups = {key: str(group.pk) for key, group in catalogue.groups.items()}
    tag_ids = [str(tag.pk) for tag in catalogue.tags]
    staff_ids = [str(user.pk) for user in catalogue.staff]
    customer_ids, address_ids = ids[CUSTOMERS], ids[ADDRESSES]
    tagging_ids, note_ids = ids[TAGGINGS], ids[NOTES]
    uncounted = set(UNCOUNTED_STATUSES)
    chunk: Chunk = {table: [] for table in BULK_TABLES}
    for plan in customer_plans(
        customers=spec.customers, orders=spec.customer_orders, seed=spec.seed, now=now
    ):
        person = person_draw(rng, plan.index)
        customer_id = str(customer_ids.take())
        count = len(plan.order_times)
        if plan.joined_by_order:
            source = CustomerSource.ORDER
            registered = rng.random() < 0.4
        else:
            source = weighted(
                rng,
                (CustomerSource.SIGNUP, CustomerSource.IMPORT, CustomerSource.MANUAL),
                (70, 90, 100),
            )
            registered = source == CustomerSource.SIGNUP or rng.random() < 0.5
        group = "standard" if registered else "guests"
        if person.company and rng.random() < 0.5:
            group = "wholesale"
        elif registered and count >= 10 and rng.random() < 0.6:
            group = "vip"
        tax_exempt = bool(person.vat_id) and person.country != "DE" and rng.random() < 0.7
        address = person.address()
        address_json = json_text(address)
        email = person.email
        spent, counted, first_at, last_at = 0, 0, None, None
        for placed in plan.order_times:
            draft = order_draw(
                rng,
                age_seconds=now - placed,
                tax_exempt=tax_exempt,
                physical=catalogue.physical,
                digital=catalogue.digital,
            )
            placed = orders.write(
                chunk,
                placed=placed,
                draft=draft,
                customer_id=customer_id,
                email=email,
                address=address_json,
            )
            if draft.status not in uncounted:
                counted += 1
                spent += draft.total
                first_at = placed if first_at is None else min(first_at, placed)
                last_at = placed if last_at is None else max(last_at, placed)
        accepts = rng.random() < 0.4
        consent = NULL
        if accepts or rng.random() < 0.05:
            consent = ts_text(plan.since + rng.randrange(now - plan.since))
        custom_fields = custom_values_draw(rng, catalogue.fields)
        chunk[CUSTOMERS].append(
            (
                customer_id,
                store_id,
                email,
                person.first_name,
                person.last_name,
                person.phone,
                person.country,
                person.company,
                ts_text(plan.since),
                source,
                AccountType.REGISTERED if registered else AccountType.GUEST,
                "f" if rng.random() < 0.015 else "t",
                "t" if rng.random() < 0.007 else "f",
                "t" if registered and rng.random() < 0.85 else "f",
                "t" if accepts else "f",
                consent,
                "t" if tax_exempt else "f",
                person.vat_id,
                groups[group],
                json_text(custom_fields) if custom_fields else "{}",
                str(counted),
                cents(spent),
                NULL if first_at is None else ts_text(first_at),
                NULL if last_at is None else ts_text(last_at),
                ts_text(plan.since),
                ts_text(last_at or plan.since),
            )
        )
        roll = rng.random()
        if roll < 0.75:  # one default of each kind at most, by construction
            kinds = [(AddressKind.SHIPPING, "t")]
            if person.company or roll < 0.2:
                kinds.append((AddressKind.BILLING, "t"))
            if roll < 0.06:
                kinds.append((AddressKind.SHIPPING, "f"))
            for kind, is_default in kinds:
                chunk[ADDRESSES].append(
                    (
                        str(address_ids.take()),
                        store_id,
                        customer_id,
                        kind,
                        is_default,
                        address["name"],
                        address["company"],
                        address["line1"] if is_default == "t" else f"Packstation {roll * 1e4:.0f}",
                        "",
                        address["postal_code"],
                        address["city"],
                        address["region"],
                        address["country"],
                        address["phone"],
                    )
                )
        if rng.random() < 0.4:
            for tag_id in rng.sample(tag_ids, weighted(rng, (1, 2, 3), (60, 90, 100))):
                chunk[TAGGINGS].append((str(tagging_ids.take()), store_id, customer_id, tag_id))
        if rng.random() < 0.03:
            chunk[NOTES].append(
                (
                    str(note_ids.take()),
                    store_id,
                    customer_id,
                    rng.choice(staff_ids),
                    copy_escape(rng.choice(NOTE_BODIES)),
                    ts_text(plan.since + rng.randrange(now - plan.since)),
                )
            )
        if len(chunk[CUSTOMERS]) >= BULK_CHUNK:
            yield chunk
            chunk = {table: [] for table in BULK_TABLES}
    # Unpaid guest orders without a profile, with their own addresses.
    for index, placed in enumerate(
        guest_order_times(count=spec.guest_orders, seed=spec.seed + 2, now=now)
    ):
        person = person_draw(rng, spec.customers + index)
        draft = order_draw(
            rng,
            age_seconds=now - placed,
            tax_exempt=False,
            physical=catalogue.physical,
            digital=catalogue.digital,
            unpaid_only=True,
        )
        orders.write(
            chunk,
            placed=placed,
            draft=draft,
            customer_id=NULL,
            email=GUEST_EMAIL.format(index=index),
            address=json_text(person.address()),
        )
        if len(chunk[ORDERS]) >= BULK_CHUNK * 3:
            yield chunk
            chunk = {table: [] for table in BULK_TABLES}
    yield chunk


class CopyWriter:
    """PostgreSQL: COPY FROM STDIN in text format, one statement per table and chunk."""

    method = "COPY"

    def __init__(self) -> None:
        self.cursor = connection.cursor().cursor  # psycopg's own cursor
        self.statements = {
            table: "COPY {} ({}) FROM STDIN".format(
                connection.ops.quote_name(table.db_table),
                ", ".join(connection.ops.quote_name(column) for column in table.columns()),
            )
            for table in BULK_TABLES
        }

    def write(self, table: BulkTable, rows: list[tuple[str, ...]]) -> None:
        if not rows:
            return
        data = "\n".join(["\t".join(row) for row in rows])
        with self.cursor.copy(self.statements[table]) as copy:
            copy.write(data)
            copy.write("\n")


class BulkCreateWriter:
    """Other databases (SQLite in tests): ``bulk_create`` in batches."""

    method = "bulk_create"

    def __init__(self) -> None:
        self.converters = {
            table: [self._converter(table.model._meta.get_field(name)) for name in table.fields]
            for table in BULK_TABLES
        }

    @staticmethod
    def _converter(model_field: models.Field) -> Callable[[str], Any]:
        kind = model_field.get_internal_type()
        if kind in {"BigAutoField", "AutoField", "ForeignKey", "PositiveIntegerField"}:
            return int
        if kind == "BooleanField":
            return lambda text: text == "t"
        if kind == "DecimalField":
            return Decimal
        if kind == "DateTimeField":
            return lambda text: datetime.datetime.fromisoformat(text.replace("+00", "+00:00"))
        if kind == "JSONField":
            return lambda text: json.loads(copy_untext(text))
        return copy_untext

    def write(self, table: BulkTable, rows: list[tuple[str, ...]]) -> None:
        converters = self.converters[table]
        objects = [
            table.model(
                **{
                    name: None if text == NULL else convert(text)
                    for name, convert, text in zip(table.fields, converters, row, strict=True)
                }
            )
            for row in rows
        ]
        table.model.objects.bulk_create(objects, batch_size=500)


def _table_ids_reserve(table: BulkTable) -> IdBlock:
    """The next free id of a table. The table is locked for writes (PostgreSQL) or the whole
    database is (SQLite), so no one else takes ids until the seed commits."""
    quoted = connection.ops.quote_name(table.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {quoted} IN EXCLUSIVE MODE")
            cursor.execute(
                f"SELECT GREATEST(nextval(pg_get_serial_sequence(%s, 'id')), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {quoted}))",
                [quoted],
            )
        else:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {quoted}")
        return IdBlock(cursor.fetchone()[0])


def _prefetched(chunks: Iterator[Chunk], depth: int = 2) -> Iterator[Chunk]:
    """The chunks, generated in a thread a little ahead of the writer: psycopg waits for the
    server without holding the GIL, so Python's work and PostgreSQL's overlap. The
    generator touches no database."""
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = Event()
    finished = object()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        queue.put(chunk, timeout=0.5)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(finished)
        except BaseException as error:  # handed to the writer's thread
            queue.put(error)

    thread = Thread(target=produce, name="seed-rows", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is finished:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


# From this many customers on, and when the seed at least doubles the customers table,
# PostgreSQL gets the plain indexes of the seeded tables dropped and built again after the
# COPY (several times faster than keeping them up to date row by row). Unique indexes of
# conditional constraints are rebuilt too, which checks them once; indexes behind
# constraints (primary keys, unique constraints) stay. The tables are locked meanwhile.
INDEX_REBUILD_FROM = 50_000


def _rows_estimate(table: BulkTable) -> int:
    """The planner's row count of a table: free, and exact enough to compare sizes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
            [connection.ops.quote_name(table.db_table)],
        )
        return cursor.fetchone()[0]


def _secondary_indexes_drop(tables: Sequence[BulkTable]) -> list[tuple[str, str]]:
    """Drop the indexes of ``tables`` no constraint owns; returns (name, definition)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY c.relname",
            [[connection.ops.quote_name(table.db_table) for table in tables]],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return indexes


def _indexes_create(indexes: Sequence[tuple[str, str]]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            cursor.execute(definition)


def _sequences_set(ids: dict[BulkTable, IdBlock]) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows the largest id inserted
    with connection.cursor() as cursor:
        for table, block in ids.items():
            if block.last_id:
                quoted = connection.ops.quote_name(table.db_table)
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [quoted, block.last_id]
                )


def _foreign_key_triggers_off(log: SeedLog) -> bool:
    """PostgreSQL checks each foreign key row by row (Django's are deferred to the
    commit), which costs more than the COPY itself; in replica mode the triggers stay
    quiet for this transaction and ``_references_check`` checks every reference set-based
    instead. Needs a superuser; otherwise the row-by-row checks stay on."""
    if connection.vendor != "postgresql":
        return False
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        log.say("Foreign keys are checked row by row (not a superuser): slower.")
        return False
    return True


# (child table, its column, parent table) for every reference a seeded row holds; the
# parent must be a row of the same store, except users (staff are global).
REFERENCES: tuple[tuple[type[models.Model], str, type[models.Model]], ...] = (
    (Customer, "group_id", CustomerGroup),
    (Address, "customer_id", Customer),
    (TaggedCustomer, "content_object_id", Customer),
    (TaggedCustomer, "tag_id", CustomerTag),
    (CustomerNote, "customer_id", Customer),
    (CustomerNote, "author_id", User),
    (Order, "customer_id", Customer),
    (OrderItem, "order_id", Order),
    (OrderItem, "product_id", Product),
)


def _references_check(store: Store) -> None:
    """Every reference of the store's rows points at an existing row of the same store."""
    quote = connection.ops.quote_name
    broken = []
    with connection.cursor() as cursor:
        for child, column, parent in REFERENCES:
            same_store = "" if parent is User else "AND p.store_id = c.store_id"
            cursor.execute(
                f"SELECT COUNT(*) FROM {quote(child._meta.db_table)} c "
                f"WHERE c.store_id = %s AND c.{quote(column)} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {quote(parent._meta.db_table)} p "
                f"WHERE p.id = c.{quote(column)} {same_store})",
                [store.pk],
            )
            count = cursor.fetchone()[0]
            if count:
                broken.append(f"{child._meta.db_table}.{column}: {count}")
    if broken:
        raise ServiceError("Seeded rows with broken references: " + "; ".join(broken))


def store_has_data(store: Store) -> bool:
    return (
        Customer.objects.filter(store=store).exists() or Order.objects.filter(store=store).exists()
    )


def _purge_blockers(store: Store) -> list[str]:
    """Rows of other tables that point at the rows a purge deletes (models this seed does
    not know, added later): a purge without foreign-key triggers must not strand them."""
    blockers = []
    for model in PURGE_MODELS:
        for relation in model._meta.related_objects:
            if relation.related_model in PURGE_MODELS or not relation.field.concrete:
                continue
            lookup = {f"{relation.field.name}__store": store}
            if relation.related_model._base_manager.filter(**lookup).exists():
                blockers.append(relation.related_model._meta.label)
    return sorted(set(blockers))


def store_data_purge(store: Store) -> None:
    """Delete a store's customers and orders with one statement per table: the ORM's
    cascade would load millions of rows into Python first."""
    blockers = _purge_blockers(store)
    if blockers:
        raise ServiceError(
            _("Other data still points at this store's customers or orders: %(models)s.")
            % {"models": ", ".join(blockers)}
        )
    with connection.cursor() as cursor:
        for model in PURGE_MODELS:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"DELETE FROM {table} WHERE store_id = %s", [store.pk])
    OrderSequence.objects.filter(store=store).update(last_number=0)


def bulk_store_seed(
    *,
    store: Store,
    customers: int,
    orders: int,
    seed: int = SEED,
    replace: bool = False,
    log: SeedLog,
) -> dict[str, int]:
    """Fill an empty store with ``customers`` customers and ``orders`` orders in one
    transaction (all or nothing); with ``replace`` its customers and orders are deleted
    first, in the same transaction. Returns the row counts per table."""
    catalogue = catalogue_ensure(store=store, actor=None)
    now = int(timezone.now().timestamp())
    spec = BulkSpec(store, catalogue, customers, orders, seed, now)
    counts = {table.db_table: 0 for table in BULK_TABLES}
    write_seconds = {table.db_table: 0.0 for table in BULK_TABLES}
    with transaction.atomic():
        writer: CopyWriter | BulkCreateWriter = (
            CopyWriter() if connection.vendor == "postgresql" else BulkCreateWriter()
        )
        log.say(f"Writing with {writer.method}.")
        triggers_off = _foreign_key_triggers_off(log)
        if replace:
            started = time.perf_counter()
            store_data_purge(store)
            log.phase("delete previous data", started)
        elif store_has_data(store):
            raise ServiceError(
                _(
                    "The store “%(slug)s” already has customers or orders; "
                    "use --replace to delete them and seed again."
                )
                % {"slug": store.slug}
            )
        ids = {table: _table_ids_reserve(table) for table in BULK_TABLES}
        rebuild: list[tuple[str, str]] = []
        if connection.vendor == "postgresql" and customers >= max(
            INDEX_REBUILD_FROM, _rows_estimate(CUSTOMERS)
        ):
            started = time.perf_counter()
            rebuild = _secondary_indexes_drop(BULK_TABLES)
            log.phase("drop secondary indexes", started, f"{len(rebuild)} indexes")
        started = time.perf_counter()
        numbers = order_numbers_plan(spec)
        log.phase("plan order numbers", started, f"{orders:,} orders")
        started = time.perf_counter()
        waited = 0.0
        report_every = max(customers // 10, 1)
        reported = 0
        rows = _prefetched(bulk_rows(spec, ids, numbers))
        while True:
            waiting = time.perf_counter()
            chunk = next(rows, None)
            waited += time.perf_counter() - waiting
            if chunk is None:
                break
            for table in BULK_TABLES:
                table_started = time.perf_counter()
                writer.write(table, chunk[table])
                write_seconds[table.db_table] += time.perf_counter() - table_started
                counts[table.db_table] += len(chunk[table])
            done = counts[CUSTOMERS.db_table]
            if done - reported >= report_every:
                reported = done
                log.say(
                    f"    {done:>10,} customers  {counts[ORDERS.db_table]:>11,} orders  "
                    f"{time.perf_counter() - started:7.1f} s"
                )
        log.phase(
            f"generate + {writer.method}",
            started,
            ", ".join(f"{name} {seconds:.1f} s" for name, seconds in write_seconds.items())
            + f"; waited for rows {waited:.1f} s",
        )
        if rebuild:
            started = time.perf_counter()
            _indexes_create(rebuild)
            log.phase("rebuild indexes", started, f"{len(rebuild)} indexes")
        if connection.vendor == "postgresql":
            # Inside the transaction: ANALYZE counts this transaction's own new rows, and
            # the reference checks below need those statistics for a sane plan.
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for table in BULK_TABLES:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(table.db_table)}")
            log.phase("ANALYZE", started)
        if triggers_off:
            started = time.perf_counter()
            _references_check(store)
            log.phase("check references", started, "every row's parents exist in the store")
        started = time.perf_counter()
        _sequences_set(ids)
        OrderSequence.objects.update_or_create(store=store, defaults={"last_number": orders})
        log.phase("sequences", started)
        commit_started = time.perf_counter()
    log.phase("commit", commit_started)
    return counts
