"""Customer import, checking a batch ahead of the writing: one transaction for abort, a
transaction per batch for skip, cells written exactly, the thread's language and zone."""

import io
import zoneinfo
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import translation

from customers.io import importer, writer
from customers.io.importer import ImportOptions, customers_import
from customers.models import ActivityEvent, Address, Customer, CustomerGroup, CustomerTag
from storefront_crm.jobs import job_execute, job_start
from storefront_crm.models import Job, JobStatus
from tests.factories import CustomerFactory


def run(store, data: str, **options):
    options.setdefault("on_error", "abort")
    result, _report = customers_import(
        store=store, source=io.BytesIO(data.encode()), options=ImportOptions(**options)
    )
    return result


def rows(count: int, *, bad_at: int | None = None) -> str:
    lines = ["Email,First Name,Accepts Email Marketing,Tags,Default Address City"]
    for n in range(count):
        email = "not-an-email" if n == bad_at else f"c{n}@example.com"
        lines.append(f"{email},C{n},no,batch,City {n}")
    return "\n".join(lines) + "\n"


@pytest.mark.django_db
def test_abort_rolls_back_batches_written_before_a_late_bad_row(store, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    real_write, written = writer.BatchWriter.write, []

    def counting_write(self, prepared):
        written.append(len(prepared))
        return real_write(self, prepared)

    monkeypatch.setattr(writer.BatchWriter, "write", counting_write)
    # The checking thread runs at most a few batches ahead: make it wait for the writing,
    # so that batches are written before the bad row is reached.
    monkeypatch.setattr(importer._CheckedBatches, "QUEUED", 1)

    result = run(store, rows(40, bad_at=37))

    assert written  # batches went to the database before the bad row was checked …
    assert result.failed and not result.written  # … and were rolled back
    assert result.committed_batches == 0
    assert Customer.objects.count() == 0
    assert CustomerTag.objects.count() == 0 and Address.objects.count() == 0
    assert ActivityEvent.objects.count() == 0
    assert [(e["row"], e["column"]) for e in result.errors] == [(39, "Email")]
    assert result.counts() == {"created": 39, "updated": 0, "unchanged": 0, "skipped": 1}


@pytest.mark.django_db
def test_abort_writes_every_batch_in_one_go(store, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)
    commits = []

    result, _report = customers_import(
        store=store,
        source=io.BytesIO(rows(10).encode()),
        options=ImportOptions(on_error="abort"),
        on_batch_commit=lambda result: commits.append(
            (result.committed_batches, result.committed_rows)
        ),
    )

    assert result.written and result.created == 10
    assert commits == [(4, 11)]  # once, for the whole file (rows 2–11)
    assert Customer.objects.count() == 10
    assert Address.objects.filter(kind="shipping", city="City 9").count() == 1


@pytest.mark.django_db
def test_a_group_first_named_in_a_later_batch_is_created(store, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    data = "Email,Group\n" + "".join(f"g{n}@example.com,\n" for n in range(4))
    data += "g4@example.com,Wholesale\ng5@example.com,wholesale\n"

    result = run(store, data, format_name="native")

    assert result.created == 6 and result.new_groups == ["Wholesale"]
    wholesale = CustomerGroup.objects.get(store=store, name="Wholesale")
    assert set(Customer.objects.filter(group=wholesale).values_list("email", flat=True)) == {
        "g4@example.com",
        "g5@example.com",
    }
    assert Customer.objects.get(email="g0@example.com").group.kind == "guests"


@pytest.mark.django_db
def test_cells_with_copy_special_characters_are_stored_as_read(store):
    data = (
        "Email,First Name,Last Name,Default Address Address1,Total Spent,Tags\n"
        'odd@example.com,"Back\\slash","Tab\there","\\N, Line1\nLine2",12.5,"a\\b"\n'
    )

    run(store, data)

    odd = Customer.objects.get(email="odd@example.com")
    assert (odd.first_name, odd.last_name) == ("Back\\slash", "Tab\there")
    assert odd.total_spent == Decimal("12.50")
    assert Address.objects.get(customer=odd).line1 == "\\N, Line1\nLine2"
    assert list(odd.tags.names()) == ["a\\b"]


@pytest.mark.django_db
def test_the_checking_thread_speaks_the_callers_language_and_zone(store):
    store.time_zone = "Europe/Berlin"
    data = "Email,Customer Since,Country\nde@example.com,,Narnia\nok@example.com,12.03.2024,\n"

    with translation.override("de"):
        result = run(store, data, format_name="native", on_error="skip")

    assert result.errors[0]["column"] == "Country"
    assert result.errors[0]["message"] == "Unbekanntes Land „Narnia“."
    since = Customer.objects.get(email="ok@example.com").customer_since
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert since.astimezone(berlin).isoformat() == "2024-03-12T00:00:00+01:00"


@pytest.mark.django_db
def test_a_crash_while_writing_stops_the_checking_thread(store, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)

    def crashing_write(self, prepared):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer.BatchWriter, "write", crashing_write)

    with pytest.raises(RuntimeError, match="disk full"):
        run(store, rows(30))

    assert Customer.objects.count() == 0
    assert not [t for t in importer.threading.enumerate() if t.name == "customer-import-check"]


def test_the_written_out_copy_line_matches_the_general_one():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    row = importer.PreparedRow(
        2,
        "a\\b@example.com",
        "created",
        None,
        {
            "first_name": "Tab\there",
            "last_name": "Line\nbreak\r",
            "account_type": "registered",
            "accepts_marketing": True,
            "customer_since": datetime(2024, 3, 12, tzinfo=UTC),
            "tax_exempt": True,
            "vat_id": "DE1",
            "custom_fields": {"size": "L\\XL", "n": 3},
        },
        [],
        {},
        "",
        None,
        {"orders_count": 3, "total_spent": Decimal("150.00"), "last_order_at": now},
    )
    for fields in (row.fields, {}):
        row.fields = fields
        values = writer.customer_values(7, row, now, {"standard": 11, "guests": 12})
        group = values[writer.GROUP_AT]
        assert writer.customer_copy_line(7, row, now.isoformat(), group) == writer.copy_line(values)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY fallback is PostgreSQL's")
def test_a_first_import_meets_a_customer_created_meanwhile(store, monkeypatch):
    # The store is empty when the import starts (no lookups); an order creates c1 before
    # its batch is written.
    real_prepare = writer.BatchWriter.prepare

    def prepare_then_order(self, **kwargs):
        real_prepare(self, **kwargs)
        CustomerFactory(store=store, email="c1@example.com", first_name="Before")

    monkeypatch.setattr(writer.BatchWriter, "prepare", prepare_then_order)

    result = run(store, rows(3))

    assert result.written and Customer.objects.count() == 3
    assert Customer.objects.get(email="c1@example.com").first_name == "C1"
    assert list(Customer.objects.get(email="c1@example.com").tags.names()) == ["batch"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the side connection is PostgreSQL's")
def test_progress_shows_while_an_abort_import_is_still_in_its_transaction(store, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    real_write, seen = writer.BatchWriter.write, []

    def watching_write(self, prepared):
        real_write(self, prepared)
        other = connections.create_connection(DEFAULT_DB_ALIAS)  # what the job page sees
        try:
            with other.cursor() as cursor:
                cursor.execute(f"SELECT progress_done FROM {Job._meta.db_table}")
                seen.append(cursor.fetchone()[0])
        finally:
            other.close()

    monkeypatch.setattr(writer.BatchWriter, "write", watching_write)
    job = job_start(
        store=store,
        kind="customers.import",
        params={"on_error": "abort"},
        input_file=ContentFile(rows(10).encode(), name="customers.csv"),
        enqueue=False,
    )

    job_execute(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and Customer.objects.count() == 10
    assert seen[0] == 0 and seen[-1] > 0  # uncommitted rows, committed progress
    assert job.progress_done == job.progress_total == 20


def test_overlapping_imports_put_the_thread_switch_interval_back_when_the_last_ends():
    import sys

    from customers.io.importer import fast_thread_switches

    before = sys.getswitchinterval()
    first, second = fast_thread_switches(0.0005), fast_thread_switches(0.0005)
    first.__enter__()
    second.__enter__()
    assert sys.getswitchinterval() == min(before, 0.0005)
    first.__exit__(None, None, None)  # the first import ends while the second still runs
    assert sys.getswitchinterval() == min(before, 0.0005)
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before
