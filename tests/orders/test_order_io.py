"""Order CSV import and export: exact round trip, all-or-nothing validation by row and
column, numbering, customers' aggregates, date ranges, store isolation, commands."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from customers.models import ActivityEvent, Customer, CustomerSource
from orders.io.exporter import ordered_products_export, orders_export
from orders.io.importer import orders_import
from orders.models import Order, OrderItem, OrderSequence, OrderStatus, PaymentStatus
from orders.services import (
    ItemInput,
    customer_stats_recompute_store,
    order_cancel,
    order_create,
    order_reassign,
)
from storefront_crm.errors import ServiceError
from storefront_crm.tenancy import store_scope
from tests.factories import CustomerFactory, ProductFactory, StoreFactory

HEADER = (
    "Order Number,Placed At,Email,Status,Payment Status,Subtotal,Discount,Shipping,Tax,Total,"
    "Item Name,Item SKU,Item Quantity,Item Unit Price"
)


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English, whatever an earlier test left active."""
    with translation.override("en"):
        yield


def export_bytes(store, **kwargs) -> bytes:
    out = io.BytesIO()
    orders_export(store=store, out=out, **kwargs)
    return out.getvalue()


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def run_import(store, text: str | bytes, **kwargs):
    data = text.encode() if isinstance(text, str) else text
    return orders_import(store=store, source=io.BytesIO(data), **kwargs)


def problems(result) -> set[tuple[int, str]]:
    return {(e["row"], e["column"]) for e in result.errors}


def aggregates(store) -> dict[str, tuple]:
    return {
        c.email: (c.orders_count, c.total_spent, c.first_order_at, c.last_order_at)
        for c in Customer.objects.filter(store=store)
    }


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


ADDRESS = {
    "name": "Anna Bauer",
    "company": "-Minus GmbH",
    "line1": "Hauptstraße 1\nHinterhaus",
    "line2": "",
    "postal_code": "10115",
    "city": "Berlin",
    "region": "",
    "country": "DE",
    "phone": "+49 170 1234567",
}


def rich_orders(store) -> None:
    """Orders using every column and awkward values."""
    anna = CustomerFactory(store=store, email="anna@example.com")
    ben = CustomerFactory(store=store, email="ben@example.com")
    lamp = ProductFactory(store=store, name="Lamp", sku="LAMP-1", price=Decimal("40.00"))
    order_create(
        store=store,
        email="anna@example.com",
        items=[
            ItemInput(name="Lamp", sku="LAMP-1", unit_price=Decimal("40.00"), product=lamp),
            ItemInput(name='=HYPERLINK("x"), "quoted"', unit_price=Decimal("2.50"), quantity=3),
        ],
        discount="5.00",
        shipping="4.90",
        tax="7.60",
        status=OrderStatus.COMPLETED,
        payment_status=PaymentStatus.PAID,
        fulfillment_status="delivered",
        shipping_method="DHL, Paket",
        shipping_address=ADDRESS,
        billing_address={**ADDRESS, "line1": "Postfach 12"},
        placed_at=at(2024, 3, 1, 9, 30, 15),
    )
    order_create(
        store=store,
        email="guest@example.org",
        items=[ItemInput(name="Gift card", unit_price=Decimal("25.00"))],
        is_digital=True,
        placed_at=at(2024, 3, 2, 23, 15),
    )
    order_create(
        store=store,
        email="new.buyer@example.org",
        items=[ItemInput(name="Stool", sku="ST-9", unit_price=Decimal("89.00"), quantity=2)],
        payment_status=PaymentStatus.PAID,
        placed_at=at(2024, 3, 3, 12, 0),
    )
    cancelled = order_create(
        store=store,
        email="ben@example.com",
        items=[ItemInput(name="Chair", unit_price=Decimal("120.00"))],
        customer=ben,
        placed_at=at(2024, 3, 4, 8, 0),
    )
    order_cancel(store=store, order=cancelled)
    moved = order_create(
        store=store,
        email="office@ben.example",
        items=[ItemInput(name="Desk", unit_price=Decimal("310.00"))],
        placed_at=at(2024, 3, 5, 10, 0),
    )
    order_reassign(store=store, order=moved, customer=anna)


@pytest.mark.django_db
def test_round_trip_is_exact(store):
    rich_orders(store)
    first = export_bytes(store)
    target = StoreFactory(slug="gamma", currency=store.currency, time_zone=store.time_zone)

    with store_scope(target):
        result = run_import(target, first)
        second = export_bytes(target)

    assert not result.errors and result.created == 5 and result.items == 6
    assert second == first
    exported = rows(first)
    assert exported[0]["Placed At"] == "2024-03-01T10:30:15+01:00"  # the store's offset
    assert exported[0]["Shipping Phone"] == "'+49 170 1234567"
    assert exported[1]["Item Name"] == '\'=HYPERLINK("x"), "quoted"'
    assert exported[0]["Shipping Address 1"] == "Hauptstraße 1\nHinterhaus"


@pytest.mark.django_db
def test_import_keeps_aggregates_exact_and_follows_order_create(store, unscoped):
    rich_orders(store)
    data = export_bytes(store)
    target = StoreFactory(slug="gamma", currency=store.currency, time_zone=store.time_zone)
    with store_scope(target):
        CustomerFactory(store=target, email="guest@example.org")  # a profile takes its order

        run_import(target, data)

        imported = aggregates(target)
        customer_stats_recompute_store(store=target)
        assert aggregates(target) == imported
        by_email = {c.email: c for c in Customer.objects.filter(store=target)}
        assert by_email["new.buyer@example.org"].source == CustomerSource.ORDER  # paid, new
        assert imported["new.buyer@example.org"][:2] == (1, Decimal("178.00"))
        assert imported["guest@example.org"][:2] == (1, Decimal("25.00"))
        assert imported["anna@example.com"][:2] == (2, Decimal("365.00"))  # 55.00 + the desk
        assert imported["ben@example.com"][:2] == (0, Decimal("0"))  # cancelled: not counted
        desk = Order.objects.get(store=target, email="office@ben.example")
        assert desk.customer.email == "anna@example.com"
        assert ActivityEvent.objects.filter(store=target, verb="order.placed").count() == 5


@pytest.mark.django_db
def test_a_pending_order_for_a_new_email_gets_no_profile(store):
    run_import(
        store,
        f'{HEADER}\n1,2024-05-01 10:00,Pending@Example.org,new,pending,,,,,,Mug,,1,"9,90"\n'
        f"2,2024-05-02 10:00,paid@example.org,new,paid,,,,,,Mug,,1,9.90\n",
    )

    assert list(Customer.objects.values_list("email", flat=True)) == ["paid@example.org"]
    pending = Order.objects.get(number=1)
    assert pending.customer is None and pending.email == "pending@example.org"
    assert pending.total == Decimal("9.90")  # decimal comma, totals computed when empty
    assert pending.placed_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)  # Berlin time


@pytest.mark.django_db
def test_dry_run_writes_nothing(store):
    rich_orders(store)
    data = export_bytes(store)
    target = StoreFactory(slug="gamma", currency=store.currency, time_zone=store.time_zone)
    with store_scope(target):
        before = (Customer.objects.count(), ActivityEvent.objects.count())

        result = run_import(target, data, dry_run=True)

        assert result.created == 5 and result.customers_created == 3 and not result.errors
        assert Order.objects.count() == OrderItem.objects.count() == 0
        assert (Customer.objects.count(), ActivityEvent.objects.count()) == before
        assert not OrderSequence.objects.filter(store=target, last_number__gt=0).exists()


@pytest.mark.django_db
def test_problems_by_row_and_column_and_nothing_is_written(store):
    text = "\n".join(
        [
            HEADER,
            "1,2024-05-01,a@example.org,new,pending,,,,,,Mug,,1,12x",  # bad money
            "2,31.02.2024,b@example.org,new,pending,,,,,,Mug,,1,5",  # bad date
            "3,2024-05-01,c@example.org,shipped-ish,pending,,,,,,Mug,,1,5",  # unknown status
            "4,2024-05-01,,new,pending,,,,,,Mug,,1,5",  # empty email
            "5,2024-05-01,e@example.org,new,pending,10.00,0,0,0,11.00,Mug,,2,5",  # total
            "6,2024-05-01,f@example.org,new,pending,9.00,,,,,Mug,,2,5",  # subtotal
            "7,2024-05-01,g@example.org,new,paid,,,,,,Mug,,1,5",
            "7,2024-05-01,h@example.org,,,,,,,,Cup,,1,5",  # differs from the first row
            "8,2024-05-01,i@example.org,new,paid,,,,,,Mug,,1,5",
            "7,2024-05-01,g@example.org,new,paid,,,,,,Cup,,1,5",  # not next to its order
            "9,2024-05-01,j@example.org,new,paid,,9.00,,,,Mug,,1,5",  # discount too large
            "10,2024-05-01,k@example.org,new,paid,,,,,,,,0,5",  # no name, quantity 0
            '11,2024-05-01,l@example.org,new,paid,,"1,50",,,"3,50",Mug,,1,5',  # fine
        ]
    )

    result = run_import(store, text)

    assert result.failed and result.created == 0
    assert problems(result) == {
        (2, "Item Unit Price"),
        (3, "Placed At"),
        (4, "Status"),
        (5, "Email"),
        (6, "Total"),
        (7, "Subtotal"),
        (9, "Email"),
        (11, "Order Number"),
        (12, "Discount"),
        (13, "Item Name"),
        (13, "Item Quantity"),
    }
    messages = {(e["row"], e["column"]): e["message"] for e in result.errors}
    assert "shipped-ish" in messages[(4, "Status")]
    assert "row 8" in messages[(9, "Email")]
    assert "row 8" in messages[(11, "Order Number")]
    assert Order.objects.count() == Customer.objects.count() == 0


@pytest.mark.django_db
def test_a_file_without_the_required_columns_is_refused(store):
    with pytest.raises(ServiceError, match="Item Unit Price"):
        run_import(store, "Order Number,Placed At,Email,Item Name\n1,2024-05-01,a@b.de,Mug\n")


@pytest.mark.django_db
def test_foreign_currency_is_a_problem(store):
    result = run_import(
        store,
        "Order Number,Placed At,Email,Currency,Item Name,Item Unit Price\n"
        "1,2024-05-01,a@example.org,USD,Mug,5\n",
    )

    assert problems(result) == {(2, "Currency")}


@pytest.mark.django_db
def test_existing_numbers_are_skipped_and_numbering_continues(store):
    for _number in range(3):
        order_create(store=store, email="x@example.org", items=[ItemInput("Mug", Decimal("5"))])
    text = (
        f"{HEADER}\n2,2024-05-01,a@example.org,new,pending,,,,,,Mug,,1,5\n"
        f"10,2024-05-01,b@example.org,new,pending,,,,,,Mug,,1,5\n"
    )

    result = run_import(store, text)
    again = run_import(store, text)
    later = order_create(store=store, email="y@example.org", items=[ItemInput("Mug", 1)])

    assert (result.created, result.skipped, result.skipped_numbers) == (1, 1, [2])
    assert result.reasons == {"order number already exists in this store": 1}
    assert Order.objects.get(number=2).email == "x@example.org"  # never updated
    assert (again.created, again.skipped) == (0, 2)
    assert later.number == 11


@pytest.mark.django_db
def test_a_lower_number_keeps_the_sequence(store):
    for _number in range(5):
        order_create(store=store, email="x@example.org", items=[ItemInput("Mug", Decimal("5"))])
    Order.objects.filter(number=3).delete()

    run_import(store, f"{HEADER}\n3,2024-05-01,a@example.org,new,pending,,,,,,Mug,,1,5\n")

    assert Order.objects.get(number=3).email == "a@example.org"
    assert OrderSequence.objects.get(store=store).last_number == 5


@pytest.mark.django_db
def test_date_range_is_inclusive_in_the_store_time_zone(store):
    assert store.time_zone == "Europe/Berlin"
    for number, placed in enumerate(
        [
            at(2024, 3, 9, 22, 59),  # 9 March 23:59 in Berlin
            at(2024, 3, 9, 23, 0),  # 10 March 00:00
            at(2024, 3, 11, 22, 59),  # 11 March 23:59
            at(2024, 3, 11, 23, 0),  # 12 March 00:00
        ],
        start=1,
    ):
        order_create(store=store, email=f"{number}@example.org", items=[ItemInput("M", 1)])
        Order.objects.filter(number=number).update(placed_at=placed)
    from datetime import date

    data = export_bytes(store, date_from=date(2024, 3, 10), date_to=date(2024, 3, 11))
    only_from = export_bytes(store, date_from=date(2024, 3, 11))

    assert [r["Order Number"] for r in rows(data)] == ["2", "3"]
    assert [r["Order Number"] for r in rows(only_from)] == ["3", "4"]


@pytest.mark.django_db
def test_another_stores_orders_are_never_exported(store, other_store):
    order_create(store=store, email="mine@example.org", items=[ItemInput("Mug", 5)])
    with store_scope(other_store):
        for _number in range(3):
            order_create(store=other_store, email="theirs@example.org", items=[ItemInput("X", 1)])

    data = export_bytes(store)

    assert [r["Email"] for r in rows(data)] == ["mine@example.org"]


@pytest.mark.django_db
def test_export_streams_in_chunks(store, monkeypatch):
    monkeypatch.setattr("orders.io.exporter.CHUNK_ORDERS", 2)
    for number in range(5):
        order_create(store=store, email=f"{number}@example.org", items=[ItemInput("M", 1)] * 2)
    progress = []

    out = io.BytesIO()
    count = orders_export(store=store, out=out, on_progress=lambda d, t: progress.append((d, t)))

    assert count == 5 and len(rows(out.getvalue())) == 10
    assert progress == [(0, 5), (2, 5), (4, 5), (5, 5)]


@pytest.mark.django_db
def test_ordered_products(store):
    lamp = ProductFactory(
        store=store, name="Lamp", sku="L-1", supplier="Lux & Co", supplier_price=Decimal("12")
    )
    order_create(
        store=store,
        email="a@example.org",
        items=[ItemInput("Lamp", 40, quantity=2, sku="L-1", product=lamp), ItemInput("=Mug", 5)],
    )
    order_create(
        store=store,
        email="b@example.org",
        items=[ItemInput("Lamp", 38, quantity=3, sku="L-1", product=lamp)],
    )
    cancelled = order_create(
        store=store, email="c@example.org", items=[ItemInput("Lamp", 40, product=lamp)]
    )
    order_cancel(store=store, order=cancelled)

    out = io.BytesIO()
    count = ordered_products_export(store=store, out=out)

    assert count == 2
    assert rows(out.getvalue()) == [
        {
            "Product": "Lamp",
            "SKU": "L-1",
            "Quantity Sold": "5",
            "Orders": "2",
            "Item Sales": "194.00",
            "Supplier": "Lux & Co",
            "Lowest Supplier Price": "12.00",
        },
        {
            "Product": "'=Mug",
            "SKU": "",
            "Quantity Sold": "1",
            "Orders": "1",
            "Item Sales": "5.00",
            "Supplier": "",
            "Lowest Supplier Price": "",
        },
    ]


# --- Commands --------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_command_summary_and_exit_codes(store, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(f"{HEADER}\n7,2024-05-01,a@example.org,new,paid,,,,,,Mug,,2,5\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\n8,someday,a@example.org,new,paid,,,,,,Mug,,2,5\n")

    dry = io.StringIO()
    call_command("import_orders", "--store", "alpha", str(good), "--dry-run", stdout=dry)
    assert "Dry run" in dry.getvalue() and Order.objects.count() == 0

    out = io.StringIO()
    call_command("import_orders", "--store", "alpha", str(good), stdout=out)
    assert "1 orders created (1 items), 0 skipped, 1 new customer profiles" in out.getvalue()
    assert Order.objects.get().number == 7

    again = io.StringIO()
    call_command("import_orders", "--store", "alpha", str(good), stdout=again)
    assert "1 × order number already exists" in again.getvalue()

    failed = io.StringIO()
    with pytest.raises(CommandError, match="finished with problems"):
        call_command("import_orders", "--store", "alpha", str(bad), stdout=failed)
    assert "row 2, Placed At:" in failed.getvalue()
    assert Order.objects.count() == 1

    with pytest.raises(CommandError, match="Unknown store"):
        call_command("import_orders", "--store", "nope", str(good), stdout=io.StringIO())


@pytest.mark.django_db
def test_import_command_reports_an_unreadable_file(store, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_orders", "--store", "alpha", str(empty), stdout=out)
    assert "empty" in out.getvalue()


@pytest.mark.django_db
def test_export_command_stdout_file_and_dates(store, tmp_path):
    first = order_create(store=store, email="a@example.org", items=[ItemInput("Mug", 5)])
    Order.objects.filter(pk=first.pk).update(placed_at=at(2024, 1, 1, 12))
    order_create(store=store, email="b@example.org", items=[ItemInput("Cup", 3)])

    out = io.StringIO()
    call_command("export_orders", "--store", "alpha", stdout=out)
    assert [r["Email"] for r in rows(out.getvalue().encode())] == [
        "a@example.org",
        "b@example.org",
    ]

    target = tmp_path / "jan.csv"
    err = io.StringIO()
    call_command(
        "export_orders",
        "--store",
        "alpha",
        "--output",
        str(target),
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-31",
        stderr=err,
    )
    assert [r["Email"] for r in rows(target.read_bytes())] == ["a@example.org"]
    assert "1 orders exported" in err.getvalue()

    products = io.StringIO()
    call_command("export_orders", "--store", "alpha", "--products", stdout=products)
    assert {r["Product"] for r in rows(products.getvalue().encode())} == {"Mug", "Cup"}

    with pytest.raises(CommandError, match="not a date"):
        call_command("export_orders", "--store", "alpha", "--from", "01/02/2024")
    assert ActivityEvent.objects.filter(verb="orders.exported").count() == 3


@pytest.mark.django_db
def test_spreadsheet_habits_bom_semicolons_latin1_day_first_decimal_commas(store):
    text = (
        "Order Number;Placed At;Email;Payment Status;Discount;Total;Item Name;Item Quantity;"
        "Item Unit Price\r\n"
        '41;01.05.2024 10:00;kunde@example.de;Paid;1,00;21,50;Größe M;2;"11,25"\r\n'
    )

    result = run_import(store, text.encode("cp1252"))

    assert not result.errors and result.encoding == "cp1252" and result.delimiter == ";"
    order = Order.objects.get(number=41)
    assert order.total == Decimal("21.50") and order.payment_status == PaymentStatus.PAID
    assert order.items.get().name == "Größe M"
    assert order.placed_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    bom = run_import(store, b"\xef\xbb\xbf" + text.replace("41;", "42;").encode("utf-8"))
    assert bom.created == 1


@pytest.mark.django_db
def test_a_crash_mid_file_leaves_the_store_as_it_was(store, monkeypatch, tmp_path):
    monkeypatch.setattr("orders.io.importer.BATCH_ORDERS", 1)
    calls = []
    real = __import__("orders.io.importer", fromlist=["_batch_write"])._batch_write

    def crash_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr("orders.io.importer._batch_write", crash_on_second)
    path = tmp_path / "two.csv"
    path.write_text(
        f"{HEADER}\n1,2024-05-01,a@example.org,new,paid,,,,,,Mug,,1,5\n"
        f"2,2024-05-01,b@example.org,new,paid,,,,,,Mug,,1,5\n"
    )
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_orders", "--store", "alpha", str(path), stdout=out)

    assert "nothing was imported" in out.getvalue()
    assert Order.objects.count() == Customer.objects.count() == 0
    assert not OrderSequence.objects.filter(last_number__gt=0).exists()
