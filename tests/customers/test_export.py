"""Customer export: exact native round trip, formula neutralisation, selections, command."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from customers.io.exporter import CSV_DIALECTS, customers_export
from customers.io.importer import ImportOptions, customers_import
from customers.models import Customer, CustomerGroup, CustomField
from storefront_crm.jobs import job_execute, job_start
from storefront_crm.models import Job, JobStatus
from storefront_crm.tenancy import store_scope
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    CustomerGroupFactory,
    CustomerNoteFactory,
    CustomFieldFactory,
    StoreFactory,
    TaggedCustomerFactory,
    UserFactory,
)


def export_bytes(store, **kwargs) -> bytes:
    out = io.BytesIO()
    customers_export(store=store, out=out, **kwargs)
    return out.getvalue()


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


SIZES = ["S", "M/L", "XL (tall)", "100% cotton", "A|B"]


def rich_store(store):
    """Customers using every exported column, including awkward values."""
    wholesale = CustomerGroupFactory(store=store, name="Wholesale")
    CustomFieldFactory(store=store, key="shoe_size", label="Shoe size", field_type="number")
    CustomFieldFactory(store=store, key="birthday", label="Birthday", field_type="date")
    CustomFieldFactory(store=store, key="vip", label="VIP", field_type="boolean")
    CustomFieldFactory(store=store, key="size", label="Size", field_type="choice", choices=SIZES)
    since = timezone.now() - timedelta(days=400)
    anna = CustomerFactory(
        store=store,
        email="anna@example.com",
        first_name="Anna",
        last_name='=HYPERLINK("http://evil")',
        phone="+49 170 1234567",
        company="-Minus GmbH",
        country="DE",
        customer_since=since,
        account_type="registered",
        email_confirmed=True,
        accepts_marketing=True,
        marketing_consent_at=since + timedelta(days=1),
        tax_exempt=True,
        vat_id="DE123456789",
        group=wholesale,
        custom_fields={
            "shoe_size": 41.5,
            "birthday": "1990-04-01",
            "vip": True,
            "size": "M/L",
        },
        orders_count=3,
        total_spent=Decimal("100.00"),
        first_order_at=since + timedelta(days=2),
        last_order_at=since + timedelta(days=3),
    )
    TaggedCustomerFactory(store=store, content_object=anna, tag__name="VIP")
    TaggedCustomerFactory(store=store, content_object=anna, tag__name="Köln, Süd")
    AddressFactory(store=store, customer=anna, kind="shipping", phone="@home", line2="c/o\nBack")
    AddressFactory(store=store, customer=anna, kind="billing", company="'=Quoted")
    CustomerNoteFactory(store=store, customer=anna, body="Secret note")
    bob = CustomerFactory(
        store=store, email="bob@example.com", first_name="Bob", last_name="", is_blocked=True
    )
    bob.user = UserFactory(email="bob@example.com", store=store)
    bob.user.set_password("hunter2")
    bob.user.save()
    bob.save()
    CustomerFactory(store=store, email="cleo@example.com", first_name="\tTab", is_active=False)


@pytest.mark.django_db
def test_native_round_trip_is_exact(store, unscoped):
    rich_store(store)
    first = export_bytes(store)
    empty = StoreFactory(slug="gamma")

    with store_scope(empty):
        result, _report = customers_import(
            store=empty, source=io.BytesIO(first), options=ImportOptions(on_error="abort")
        )
        second = export_bytes(empty)

    assert result.errors == [] and result.created == 3
    assert second == first
    with store_scope(empty):
        anna = Customer.objects.get(email="anna@example.com")
        assert anna.phone == "+49 170 1234567"
        assert anna.group.name == "Wholesale"
        assert anna.custom_fields == {
            "shoe_size": 41.5,
            "birthday": "1990-04-01",
            "vip": True,
            "size": "M/L",
        }
        assert sorted(anna.tags.names()) == ["Köln, Süd", "VIP"]
        # the fields are recreated with their types, a choice field with its choices
        fields = {f.key: (f.label, f.field_type, f.choices) for f in CustomField.objects.all()}
        assert fields == {
            "shoe_size": ("Shoe size", "number", []),
            "birthday": ("Birthday", "date", []),
            "vip": ("VIP", "boolean", []),
            "size": ("Size", "choice", SIZES),
        }


@pytest.mark.django_db
def test_the_spreadsheet_dialect_opens_in_columns_in_german_excel_and_imports_back(store, unscoped):
    rich_store(store)
    standard = export_bytes(store)
    spreadsheet = export_bytes(store, dialect=CSV_DIALECTS["spreadsheet"])

    assert spreadsheet.startswith(b"\xef\xbb\xbf")  # Excel then reads UTF-8
    table = list(csv.DictReader(io.StringIO(spreadsheet[3:].decode()), delimiter=";"))
    anna = next(row for row in table if row["Email"] == "anna@example.com")
    assert anna["Total Spent"] == "100,00" and anna["Average Order Value"] == "33,33"
    assert anna["Shoe size (custom.shoe_size:number)"] == "41,5"
    assert anna["Birthday (custom.birthday:date)"] == "1990-04-01"  # dates stay ISO
    assert anna["Tags"] == '"Köln, Süd", VIP'  # commas inside cells are text, not numbers
    assert anna["Last Name"] == '\'=HYPERLINK("http://evil")'  # still neutralised
    # Imported into an empty store, it gives the same customers as the standard file.
    empty = StoreFactory(slug="gamma")
    with store_scope(empty):
        result, _report = customers_import(
            store=empty, source=io.BytesIO(spreadsheet), options=ImportOptions(on_error="abort")
        )
        assert result.errors == [] and result.created == 3
        assert export_bytes(empty) == standard


@pytest.mark.django_db
def test_the_command_and_the_transfer_page_export_the_spreadsheet_dialect(
    store, owner, owner_client, tmp_path
):
    CustomerFactory(store=store, email="ann@example.com", total_spent=Decimal("12.50"))
    output = tmp_path / "customers.csv"
    call_command(
        "export_customers",
        "--store",
        store.slug,
        "--output",
        str(output),
        "--dialect",
        "spreadsheet",
    )
    assert output.read_bytes().startswith(b"\xef\xbb\xbf") and b";12,50;" in output.read_bytes()

    response = owner_client.post(
        reverse("panel:customer_transfer_export", kwargs={"store_slug": store.slug}),
        {"dialect": "spreadsheet"},
    )

    job = Job.objects.get(store=store, kind="customers.export")
    assert response.status_code == 302 and job.params["dialect"] == "spreadsheet"
    job_execute(job.pk)  # what the worker does once the request has committed
    job.refresh_from_db()
    assert b";12,50;" in job.result_file.read()

    # The list's bulk export asks the same question and writes the same file.
    # Named, not left to the factory's random names (which may hold "ann", as Hannah does).
    CustomerFactory(
        store=store, email="bo@example.com", first_name="Bo", last_name="Li", total_spent=3
    )
    owner_client.post(
        reverse("panel:customers_bulk", kwargs={"store_slug": store.slug}),
        {"action": "export", "scope": "all", "query": "q=ann@", "dialect": "spreadsheet"},
    )
    selection = Job.objects.filter(store=store, kind="customers.export").latest("pk")
    job_execute(selection.pk)
    selection.refresh_from_db()
    written = selection.result_file.read()
    assert written.startswith(b"\xef\xbb\xbf") and b";12,50;" in written
    assert b"bo@example.com" not in written


@pytest.mark.django_db
def test_export_has_the_seed_columns_and_no_notes_or_passwords(store):
    rich_store(store)

    data = export_bytes(store)

    header = data.decode().splitlines()[0].split(",")
    for column in [
        "Email",
        "First Name",
        "Last Name",
        "Total Orders",
        "Total Spent",
        "Average Order Value",
        "Last Order Date",
        "Customer Since",
        "Shipping Name",
        "Shipping Address 1",
        "Shipping Phone",
        "Billing Name",
        "Billing Address 1",
        "Billing Phone",
        "Tags",
        "Group",
        "Tax Exempt",
        "VAT ID",
        "Accepts Marketing",
        "Consent Changed",
        "Shoe size (custom.shoe_size:number)",
    ]:
        assert column in header
    text = data.decode()
    assert "Secret note" not in text and "hunter2" not in text and "pbkdf2" not in text
    anna = rows(data)[0]
    assert (anna["Total Orders"], anna["Total Spent"], anna["Average Order Value"]) == (
        "3",
        "100.00",
        "33.33",
    )
    assert anna["Tags"] == '"Köln, Süd", VIP'
    assert anna["Tax Exempt"] == "yes" and anna["Group"] == "Wholesale"


@pytest.mark.django_db
def test_formula_cells_are_neutralised(store):
    rich_store(store)

    by_email = {row["Email"]: row for row in rows(export_bytes(store))}

    anna = by_email["anna@example.com"]
    assert anna["Last Name"] == '\'=HYPERLINK("http://evil")'
    assert anna["Phone"] == "'+49 170 1234567"
    assert anna["Company"] == "'-Minus GmbH"
    assert anna["Shipping Phone"] == "'@home"
    assert anna["Billing Company"] == "''=Quoted"
    assert by_email["cleo@example.com"]["First Name"] == "'\tTab"


@pytest.mark.django_db
def test_export_job_of_selected_ids(store, owner):
    rich_store(store)
    bob = Customer.objects.get(email="bob@example.com")
    job = job_start(
        store=store,
        kind="customers.export",
        actor=owner,
        params={"conditions": [], "customer_ids": [bob.pk]},
        enqueue=False,
    )

    job_execute(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress_done == job.progress_total == 1
    assert [row["Email"] for row in rows(job.result_file.open("rb").read())] == ["bob@example.com"]
    assert job.created_by == owner


@pytest.mark.django_db
def test_export_job_of_conditions(store):
    rich_store(store)
    job = job_start(
        store=store,
        kind="customers.export",
        params={
            "conditions": [{"field": "account_state", "op": "in", "value": ["inactive"]}],
            "customer_ids": None,
        },
        enqueue=False,
    )

    job_execute(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert [row["Email"] for row in rows(job.result_file.open("rb").read())] == ["cleo@example.com"]


@pytest.mark.django_db
def test_export_job_of_the_whole_store(store):
    rich_store(store)
    job = job_start(store=store, kind="customers.export", params={}, enqueue=False)

    job_execute(job.pk)

    job.refresh_from_db()
    assert len(rows(job.result_file.open("rb").read())) == 3
    assert "3 customers exported" in job.message


@pytest.mark.django_db
def test_export_never_leaks_another_store(store, other_store, unscoped):
    rich_store(store)
    with store_scope(other_store):
        CustomerFactory(store=other_store, email="foreign@example.com")

    with store_scope(store):
        data = export_bytes(store)

    assert b"foreign@example.com" not in data


@pytest.mark.django_db
def test_command_exports_to_stdout_and_file(store, tmp_path):
    rich_store(store)
    out = io.StringIO()

    call_command("export_customers", "--store", "alpha", stdout=out)

    assert out.getvalue().splitlines()[0].startswith("Email,First Name,Last Name")
    assert len(rows(out.getvalue().encode())) == 3
    target = tmp_path / "out.csv"
    call_command("export_customers", "--store=alpha", f"--output={target}", stderr=io.StringIO())
    assert target.read_bytes() == out.getvalue().encode()


@pytest.mark.django_db
def test_command_stops_cleanly_when_its_reader_goes_away(store, monkeypatch):
    """``export_customers … | head``: a closed pipe ends the export with one line and the
    shell's SIGPIPE status, not a traceback."""
    import os
    import sys

    from django.core.management.base import CommandError

    rich_store(store)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte
    closed = open(write_end, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    monkeypatch.setattr(sys, "stdout", closed)
    try:
        with pytest.raises(CommandError, match="standard output was closed") as stopped:
            call_command("export_customers", "--store", "alpha")
        assert stopped.value.returncode == 141
        closed.write("after the stop")  # stdout now leads nowhere: no second error
        closed.flush()
    finally:
        closed.close()


@pytest.mark.django_db
def test_command_exports_a_segment(store):
    from segments.models import Segment

    rich_store(store)
    segment = Segment.objects.create(
        store=store,
        name="Cleo",
        conditions=[{"field": "account_state", "op": "in", "value": ["inactive"]}],
    )
    out = io.StringIO()

    call_command("export_customers", "--store=alpha", f"--segment={segment.pk}", stdout=out)

    assert [row["Email"] for row in rows(out.getvalue().encode())] == ["cleo@example.com"]


@pytest.mark.django_db
def test_command_fails_clearly_on_an_unknown_segment(store):
    with pytest.raises(CommandError, match="no segment 999"):
        call_command("export_customers", "--store=alpha", "--segment=999")


@pytest.mark.django_db
def test_groups_round_trip_by_name(store):
    assert CustomerGroup.objects.filter(kind="guests").exists()


@pytest.mark.django_db
def test_a_choice_column_checks_its_values_against_the_header_choices(store):
    data = (
        b"Email,Size (custom.size:choice=S/M/XL %29)\n"
        b"a@example.com,m\n"
        b"b@example.com,XL )\n"
        b"c@example.com,XXL\n"
    )

    result, _report = customers_import(
        store=store,
        source=io.BytesIO(data),
        options=ImportOptions(format_name="native", on_error="skip"),
    )

    assert result.created == 2
    assert [(e["row"], e["column"]) for e in result.errors] == [(4, "Size")]
    assert CustomField.objects.get(key="size").choices == ["S", "M", "XL )"]
    assert Customer.objects.get(email="a@example.com").custom_fields == {"size": "M"}


@pytest.mark.django_db
def test_a_choice_header_with_bad_choices_is_refused_before_anything_is_written(store):
    data = ("Email,Size (custom.size:choice=" + "x" * 101 + ")\na@example.com,x\n").encode()

    with pytest.raises(Exception, match="Size"):
        customers_import(
            store=store,
            source=io.BytesIO(data),
            options=ImportOptions(format_name="native", on_error="skip"),
        )

    assert not Customer.objects.exists() and not CustomField.objects.exists()


def test_the_export_job_names_its_count():
    from storefront_crm.jobs import job_counts_labelled

    assert [
        (str(label), value)
        for label, value in job_counts_labelled("customers.export", {"exported": 1})
    ] == [("Exported", 1)]
