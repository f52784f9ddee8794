"""Customer CSV import: formats, spreadsheet habits, rules, errors, limits, jobs, commands."""

import io
import zoneinfo
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from customers.io import formats, importer, widgets, writer
from customers.io.importer import ImportOptions, customers_import
from customers.io.reader import FileProblem
from customers.models import (
    ActivityEvent,
    Address,
    Customer,
    CustomerNote,
    CustomerTag,
    CustomField,
)
from storefront_crm.jobs import job_execute, job_start
from storefront_crm.models import Job, JobStatus, User
from storefront_crm.tenancy import store_scope
from tests.factories import CustomerFactory

SAMPLES = Path(__file__).parent / "samples"


def run(store, data: bytes | str | Path, **options):
    if isinstance(data, Path):
        data = data.read_bytes()
    if isinstance(data, str):
        data = data.encode()
    options.setdefault("on_error", "skip")
    result, _report = customers_import(
        store=store, source=io.BytesIO(data), options=ImportOptions(**options)
    )
    return result


def customer(email: str) -> Customer:
    return Customer.objects.select_related("group").get(email=email)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sample", "format_name", "emails"),
    [
        ("shopify_current.csv", "shopify", ["anna.schmidt@example.com", "bob@example.com"]),
        ("shopify_legacy.csv", "shopify", ["carla@example.it", "dieter@example.de"]),
        ("squarespace_seed.csv", "squarespace", ["eva@example.com"]),
        ("squarespace_contacts.csv", "squarespace", ["frank@example.com"]),
        ("woocommerce_browser.csv", "woocommerce", ["ludwig@example.com", "grace@example.com"]),
        ("woocommerce_email.csv", "woocommerce", ["ada@example.co.uk"]),
        ("ecwid.csv", "ecwid", ["hans@example.de", "ilse@example.de"]),
        # the headers Ecwid's German and Italian help pages give
        ("ecwid_de.csv", "ecwid", ["kaethe@example.de", "otto@example.de"]),
        ("ecwid_it.csv", "ecwid", ["giulia@example.it", "marco@example.it"]),
        ("native_de_cp1252.csv", "native", ["juergen@example.de", "zoe@example.de"]),
        ("shopify_bom_semicolon.csv", "shopify", ["soren@example.dk"]),
    ],
)
def test_each_sample_is_recognised_and_imported(store, sample, format_name, emails):
    result = run(store, SAMPLES / sample)

    assert result.format_name == format_name
    assert result.errors == []
    assert result.created == len(emails)
    assert sorted(Customer.objects.values_list("email", flat=True)) == sorted(emails)
    assert set(Customer.objects.values_list("source", flat=True)) == {"import"}


@pytest.mark.django_db
def test_shopify_current_maps_every_column(store):
    run(store, SAMPLES / "shopify_current.csv")

    anna = customer("anna.schmidt@example.com")
    assert (anna.first_name, anna.last_name, anna.country) == ("Anna", "Schmidt", "DE")
    assert anna.phone == "+49 170 1234567"  # the spreadsheet's apostrophe is read back
    assert anna.accepts_marketing and anna.marketing_consent_at is not None
    assert (anna.orders_count, anna.total_spent) == (5, Decimal("1234.50"))
    assert sorted(anna.tags.names()) == ["Newsletter", "VIP"]
    assert anna.custom_fields == {"loyalty_tier": "Gold"}
    assert CustomField.objects.get(key="loyalty_tier").label == "Loyalty tier"
    note = CustomerNote.objects.get(customer=anna)
    assert note.body == "Prefers DHL.\nCall before delivery."  # embedded newline kept
    address = Address.objects.get(customer=anna)
    assert (address.kind, address.is_default, address.line1, address.city) == (
        "shipping",
        True,
        "Hauptstraße 1",
        "Berlin",
    )
    assert (address.postal_code, address.region, address.phone) == ("10115", "BE", "+49 30 1234567")
    assert customer("bob@example.com").tax_exempt is True


@pytest.mark.django_db
def test_shopify_legacy_prefers_codes_and_falls_back_to_names(store):
    run(store, SAMPLES / "shopify_legacy.csv")

    assert customer("carla@example.it").country == "IT"
    dieter = customer("dieter@example.de")
    assert dieter.country == "DE"  # "Germany" when the code column is empty
    assert Address.objects.get(customer=dieter).region == "Bavaria"
    assert customer("carla@example.it").notes.get().body == "Old customer"


@pytest.mark.django_db
def test_squarespace_aliases_decimal_commas_and_day_first_dates(store):
    run(store, SAMPLES / "squarespace_seed.csv")

    eva = customer("eva@example.com")
    assert (eva.orders_count, eva.total_spent) == (3, Decimal("150.00"))
    berlin = zoneinfo.ZoneInfo(store.time_zone)  # dates without a zone are the store's
    assert eva.last_order_at.astimezone(berlin).isoformat() == "2024-03-12T00:00:00+01:00"
    assert eva.customer_since.astimezone(berlin).date().isoformat() == "2023-02-01"
    assert sorted(eva.tags.names()) == ["Stammkunde", "Wien"]
    kinds = sorted(Address.objects.filter(customer=eva).values_list("kind", flat=True))
    assert kinds == ["billing", "shipping"]


@pytest.mark.django_db
def test_squarespace_contacts_account_and_country_names(store):
    run(store, SAMPLES / "squarespace_contacts.csv")

    frank = customer("frank@example.com")
    assert frank.account_type == "registered" and frank.group.kind == "standard"
    assert frank.country == "CH"  # "Switzerland"
    assert frank.accepts_marketing


@pytest.mark.django_db
def test_woocommerce_splits_the_full_name(store):
    run(store, SAMPLES / "woocommerce_browser.csv")

    ludwig = customer("ludwig@example.com")
    assert (ludwig.first_name, ludwig.last_name) == ("Ludwig", "van Beethoven")
    assert ludwig.total_spent == Decimal("1234.56")  # "€1,234.56"
    assert customer("grace@example.com").country == "US"  # "United States"


@pytest.mark.django_db
def test_ecwid_password_is_only_a_hash_on_a_shopper_login(store):
    run(store, SAMPLES / "ecwid.csv")

    hans = customer("hans@example.de")
    assert (hans.first_name, hans.last_name) == ("Hans Peter", "Maier")
    user = User.objects.get(pk=hans.user_id)
    assert user.store_id == store.pk and user.is_shopper
    assert user.password != "geheim123" and user.check_password("geheim123")
    assert hans.account_type == "registered"
    assert customer("ilse@example.de").user_id is None


@pytest.mark.django_db
def test_ecwid_in_german_and_italian_keeps_names_and_passwords(store):
    run(store, SAMPLES / "ecwid_de.csv")
    run(store, SAMPLES / "ecwid_it.csv")

    kaethe, giulia = customer("kaethe@example.de"), customer("giulia@example.it")
    assert (kaethe.first_name, kaethe.last_name) == ("Käthe", "Weiß")
    assert (giulia.first_name, giulia.last_name) == ("Giulia", "Rossi")
    assert User.objects.get(pk=kaethe.user_id).check_password("geheim123")
    assert User.objects.get(pk=giulia.user_id).check_password("segreto99")
    assert customer("otto@example.de").user_id is None


def test_a_header_with_more_than_ecwids_columns_is_not_taken_for_ecwid():
    assert formats.format_detect(["Name", "E-Mail", "Passwort"]) == "ecwid"
    assert formats.format_detect(["nome", "e-mail"]) == "ecwid"
    assert formats.format_detect(["Name", "E-Mail", "Telefon"]) is None


@pytest.mark.django_db
def test_latin1_semicolons_and_blank_lines(store):
    result = run(store, SAMPLES / "native_de_cp1252.csv")

    assert (result.encoding, result.delimiter) == ("cp1252", ";")
    juergen = customer("juergen@example.de")
    assert (juergen.first_name, juergen.last_name) == ("Jürgen", "Größe")
    assert juergen.total_spent == Decimal("1234.56")
    assert juergen.group.name == "Großhandel" and juergen.vat_id == "DE123456789"
    assert juergen.accepts_marketing and juergen.country == "DE"
    assert customer("zoe@example.de").tax_exempt


@pytest.mark.django_db
def test_utf8_bom_and_semicolons(store):
    result = run(store, SAMPLES / "shopify_bom_semicolon.csv")

    assert (result.encoding, result.delimiter) == ("utf-8-sig", ";")
    soren = customer("soren@example.dk")
    assert soren.first_name == "Søren" and soren.total_spent == Decimal("2500.00")
    assert soren.phone == "+45 12 34 56 78"


# --- Rules ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_upsert_by_email_in_the_store_only(store, other_store, unscoped):
    CustomerFactory(store=store, email="anna.schmidt@example.com", first_name="Old")
    with store_scope(other_store):
        CustomerFactory(store=other_store, email="bob@example.com", first_name="Other")

    result = run(store, SAMPLES / "shopify_current.csv")

    assert (result.created, result.updated) == (1, 1)
    anna = Customer.objects.get(store=store, email="anna.schmidt@example.com")
    assert anna.first_name == "Anna"
    assert anna.orders_count == 0  # aggregates belong to orders; only new rows take history
    other = Customer.objects.get(store=other_store, email="bob@example.com")
    assert other.first_name == "Other"


@pytest.mark.django_db
def test_importing_the_same_file_again_changes_nothing(store):
    run(store, SAMPLES / "shopify_current.csv")

    again = run(store, SAMPLES / "shopify_current.csv")

    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 2, "skipped": 0}
    assert CustomerNote.objects.count() == 1
    assert Address.objects.count() == 2


@pytest.mark.django_db
def test_dry_run_reports_every_problem_and_writes_nothing(store):
    result = run(store, SAMPLES / "errors.csv", dry_run=True)

    assert Customer.objects.count() == 0
    problems = {(e["row"], e["column"]) for e in result.errors}
    assert problems == {
        (3, "Email"),
        (4, "Email"),
        (5, "Default Address Country Code"),
        (6, "Total Spent"),
    }
    assert result.counts() == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 4}
    assert result.reasons == {
        "invalid email": 1,
        "duplicate email in the file": 1,
        "unknown country": 1,
        "bad number": 1,
    }


@pytest.mark.django_db
def test_abort_writes_nothing_when_a_row_is_bad(store):
    result = run(store, SAMPLES / "errors.csv", on_error="abort")

    assert result.failed and not result.written
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_skip_imports_the_good_rows(store):
    result = run(store, SAMPLES / "errors.csv", on_error="skip")

    assert result.written
    assert sorted(Customer.objects.values_list("email", flat=True)) == [
        "good@example.com",
        "second@example.com",
    ]


@pytest.mark.django_db
def test_every_customer_of_the_file_can_get_a_tag(store):
    from customers.models import TaggedCustomer

    existing = CustomerFactory(store=store, email="old@example.com", first_name="Old")
    untouched = CustomerFactory(store=store, email="other@example.com")
    data = (
        "Email,First Name,Accepts Email Marketing,Tags\n"
        'new@example.com,New,no,"Fair 2026, VIP"\nold@example.com,Old,no,\n'
    )

    result = run(store, data, tag=" Fair  2026 ", on_error="abort")

    # Created and updated (an existing customer whose only change is the tag) alike; the
    # row that names the tag itself gets it once.
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    assert result.tag == "Fair 2026" and result.new_tags == 2
    tagged = TaggedCustomer.objects.filter(tag__name="Fair 2026")
    assert set(tagged.values_list("content_object__email", flat=True)) == {
        "new@example.com",
        existing.email,
    }
    assert not TaggedCustomer.objects.filter(content_object=untouched).exists()
    assert "Every customer of the file is tagged “Fair 2026”." in importer.import_summary_lines(
        result, dry_run=False
    )
    # Again: everyone has it, nothing changes.
    again = run(store, data, tag="fair 2026", on_error="abort")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert CustomerTag.objects.filter(name__iexact="fair 2026").count() == 1


@pytest.mark.django_db
def test_a_new_import_tag_past_the_tag_limit_refuses_the_file_before_any_row(store, settings):
    settings.STOREFRONT_MAX_TAGS_PER_STORE = 2
    CustomerTag.objects.create(store=store, name="One", slug="one")
    CustomerTag.objects.create(store=store, name="Two", slug="two")
    data = "Email,First Name,Accepts Email Marketing\na@x.de,A,no\n"

    with pytest.raises(FileProblem, match="already has 2 tags"):
        run(store, data, tag="Three")
    assert Customer.objects.count() == 0
    # An existing tag is no new one.
    assert run(store, data, tag="two").created == 1


@pytest.mark.django_db
def test_the_command_tags_the_files_customers(store):
    out = io.StringIO()
    call_command(
        "import_customers",
        "--store=alpha",
        str(SAMPLES / "shopify_current.csv"),
        "--tag=Shopify move",
        stdout=out,
    )
    tag = CustomerTag.objects.get(name="Shopify move")
    assert tag.tagged_items.count() == 2
    assert "tagged “Shopify move”" in out.getvalue()


@pytest.mark.django_db
def test_too_many_tags_is_a_row_problem(store, settings):
    settings.STOREFRONT_MAX_TAGS_PER_STORE = 3
    CustomerTag.objects.create(store=store, name="Existing", slug="existing")
    data = (
        "Email,First Name,Accepts Email Marketing,Tags\n"
        'a@x.de,A,no,"Existing, One, Two"\nb@x.de,B,no,"Three"\n'
    )

    result = run(store, data)

    assert [(e["row"], e["column"]) for e in result.errors] == [(3, "Tags")]
    assert "at most 3 tags" in result.errors[0]["message"]
    assert CustomerTag.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \r\n\r\n", "empty"),
        (b"PK\x03\x04\x14\x00\x06\x00binary", "not a CSV"),
        (b"Email,Name\x00\x01\x02", "not a CSV"),
        (b"Email,First Name,Accepts Email Marketing\n", "no rows"),
        (b"First Name,Last Name,Accepts Email Marketing\nA,B,no\n", "no email column"),
        (b"Email,Foo\na@b.de,2\n", "not recognised"),
        (b"Foo,Bar\n1,2\n", "no email column"),
        (b"Email,Accepts Email Marketing\n" + b"x" * 70_000 + b"\n", "longer than"),
    ],
)
def test_file_problems_are_clear(store, data, message):
    with pytest.raises(FileProblem, match=message):
        run(store, data)


@pytest.mark.django_db
def test_file_over_the_size_limit(store, settings):
    settings.STOREFRONT_IMPORT_MAX_BYTES = 100
    with pytest.raises(FileProblem, match="MB can be imported"):
        run(store, "Email,Name,Password\n" + "a@b.de,A,\n" * 20)


@pytest.mark.django_db
def test_wrong_encoding_chosen_is_a_clear_problem(store):
    data = "Name,Email\nJürgen,j@x.de\n".encode("cp1252")
    with pytest.raises(FileProblem, match="encoding"):
        run(store, data, encoding="utf-8")


@pytest.mark.django_db
def test_formula_cells_are_read_back(store):
    data = "Name,Email\n'=Jane Doe,jane@x.de\n''=Tricky One,t@x.de\n"

    run(store, data)

    assert customer("jane@x.de").first_name == "=Jane"
    assert customer("t@x.de").first_name == "'=Tricky"


@pytest.mark.django_db
def test_crlf_trailing_columns_and_quoted_newlines(store):
    data = 'Name,Email,Password,,\r\n"Ann\r\nMarie Lee",ann@x.de,,,\r\n\r\n'

    run(store, data)

    ann = customer("ann@x.de")
    assert (ann.first_name, ann.last_name) == ("Ann Marie", "Lee")


# --- Jobs: progress, batches, a crash mid-file -----------------------------------------------


def start_import(store, data: bytes, **params):
    params.setdefault("on_error", "skip")
    job = job_start(
        store=store,
        kind="customers.import",
        params=params,
        input_file=ContentFile(data, name="customers.csv"),
        enqueue=False,
    )
    job_execute(job.pk)
    job.refresh_from_db()
    return job


def many_rows(count: int) -> bytes:
    lines = ["Email,First Name,Accepts Email Marketing,Tags"]
    lines += [f"c{n}@example.com,C{n},no,batch" for n in range(count)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.django_db
def test_import_job_reports_progress_counts_and_problems(store, owner, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)

    job = start_import(store, (SAMPLES / "errors.csv").read_bytes())

    assert job.status == JobStatus.SUCCEEDED
    assert job.progress_done == job.progress_total == 12  # 6 rows checked, 6 written
    assert job.counts["created"] == 2 and job.counts["skipped"] == 4
    assert job.counts["problems"] == 4 and len(job.errors) == 4
    assert job.counts["committed_batches"] == 1
    report = job.result_file.open("rb").read().decode()
    assert report.splitlines()[0] == "Row,Column,Value,Problem"
    assert "Narnia" in report
    assert "4 skipped" in job.message


@pytest.mark.django_db
def test_abort_job_fails_and_says_nothing_was_imported(store):
    job = start_import(store, (SAMPLES / "errors.csv").read_bytes(), on_error="abort")

    assert job.status == JobStatus.FAILED
    assert "Nothing was imported" in job.message
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_crash_after_the_first_batch_keeps_exactly_that_batch(store, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)
    real_write = writer.BatchWriter.write
    calls = {"n": 0}

    def crashing_write(self, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return real_write(self, rows)

    monkeypatch.setattr(writer.BatchWriter, "write", crashing_write)

    job = start_import(store, many_rows(8))

    assert job.status == JobStatus.FAILED
    assert sorted(Customer.objects.values_list("email", flat=True)) == [
        "c0@example.com",
        "c1@example.com",
        "c2@example.com",
    ]
    assert job.counts["committed_batches"] == 1
    assert job.counts["committed_up_to_row"] == 4
    assert "up to row 4" in job.message and "worker lost" in job.message
    assert Customer.objects.get(email="c0@example.com").tags.names()[0] == "batch"


@pytest.mark.django_db
def test_crash_before_any_batch_says_nothing_was_imported(store, monkeypatch):
    def crashing_write(self, rows):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(writer.BatchWriter, "write", crashing_write)

    job = start_import(store, many_rows(3))

    assert job.status == JobStatus.FAILED
    assert "nothing was imported" in job.message
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_running_the_file_again_after_a_crash_finishes_it(store, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)
    real_write = writer.BatchWriter.write
    calls = {"n": 0}

    def crashing_write(self, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return real_write(self, rows)

    monkeypatch.setattr(writer.BatchWriter, "write", crashing_write)
    start_import(store, many_rows(8))
    monkeypatch.setattr(writer.BatchWriter, "write", real_write)

    job = start_import(store, many_rows(8))

    assert job.counts["created"] == 5 and job.counts["unchanged"] == 3
    assert Customer.objects.count() == 8


@pytest.mark.django_db
def test_each_imported_customer_gets_an_activity_event_with_the_job(store, owner, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    CustomerFactory(store=store, email="c0@example.com", first_name="Old")
    CustomerFactory(store=store, email="c1@example.com", first_name="C1")

    job = start_import(store, many_rows(3))

    events = ActivityEvent.objects.filter(verb="customer.imported").select_related("customer")
    by_email = {event.customer.email: event for event in events}
    assert sorted(by_email) == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert by_email["c0@example.com"].data == {"job": job.pk, "action": "updated"}
    assert by_email["c2@example.com"].data == {"job": job.pk, "action": "created"}
    assert {event.actor for event in events} == {None}  # a job without a person


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_a_customer_created_meanwhile_is_updated_not_duplicated(store, monkeypatch):
    # Checked as new, but an order created the customer before the batch was written.
    monkeypatch.setattr(importer._Checker, "_existing", lambda self, emails: iter(()))
    CustomerFactory(store=store, email="c1@example.com", first_name="Before")

    result = run(store, many_rows(3), on_error="abort")

    assert result.created == 3 and result.written
    assert Customer.objects.count() == 3
    assert customer("c1@example.com").first_name == "C1"
    assert list(customer("c1@example.com").tags.names()) == ["batch"]


@pytest.mark.django_db
def test_unchanged_customers_get_no_activity_event(store):
    run(store, many_rows(2))
    run(store, many_rows(2))

    assert ActivityEvent.objects.filter(verb="customer.imported").count() == 2


NATIVE_WIDGETS = {column.attribute: column.widget for column in formats.NativeResource.columns()}


@pytest.mark.parametrize(
    "attribute",
    [
        "email",
        "first_name",
        "phone",
        "total_spent",
        "orders_count",
        "country",
        "is_active",
        "customer_since",
        "tag_names",
        "vat_id",
        "account_type",
        "average_order_value",
    ],
)
def test_fast_cleaners_agree_with_the_widgets(attribute):
    widget = NATIVE_WIDGETS[attribute]
    cells = [
        "",
        "  ",
        "a@example.com",
        " A.B+c@Example.COM ",
        "a@b",
        "a@localhost",
        "a@[127.0.0.1]",
        "x" * 250 + "@example.com",
        "a..b@example.com",
        "'+49 170 1",
        "'=1+2",
        "''x",
        "+49",
        "12",
        "12.5",
        "12.345",
        "1.234,56",
        "-3",
        "007",
        "1e3",
        "99999999999.99",
        "1000000000000",
        "2147483648",
        "DE",
        "de",
        "Germany",
        "XX",
        "yes",
        "NO",
        "ja",
        "maybe",
        "2024-03-01",
        "01.03.2024 10:00",
        "a, b, A",
        'x, "y, z"',
        "t" * 101,
        "x" * 40,
        "x" * 41,
        "\tabc",
    ]
    cleaner = widgets.widget_cleaner(widget)
    with zoneinfo_override("Europe/Berlin"):
        for cell in cells:
            expected = outcome(widget.clean, cell)
            assert outcome(cleaner, cell) == expected, cell


def outcome(clean, cell):
    try:
        value = clean(cell)
    except ValueError as error:
        return ("error", str(error))
    return ("value", type(value), value)


def zoneinfo_override(name):
    from django.utils import timezone

    return timezone.override(zoneinfo.ZoneInfo(name))


# --- Command ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_imports_and_prints_a_summary(store):
    out = io.StringIO()

    call_command(
        "import_customers", "--store", "alpha", str(SAMPLES / "shopify_current.csv"), stdout=out
    )

    assert "2 created, 0 updated, 0 unchanged, 0 skipped" in out.getvalue()
    assert Customer.objects.count() == 2
    job = Job.objects.get(kind="customers.import")
    assert job.params["detected_format"] == "shopify"


@pytest.mark.django_db
def test_command_exits_non_zero_on_problems_and_lists_them(store):
    out = io.StringIO()

    with pytest.raises(CommandError, match="problems"):
        call_command(
            "import_customers",
            "--store",
            "alpha",
            str(SAMPLES / "errors.csv"),
            "--dry-run",
            stdout=out,
        )

    text = out.getvalue()
    assert "row 5, Default Address Country Code: Unknown country “Narnia”." in text
    assert "Dry run" in text
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_command_with_a_forced_format_and_skip(store):
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "import_customers",
            "--store=alpha",
            str(SAMPLES / "errors.csv"),
            "--format=shopify",
            "--on-error=skip",
            stdout=out,
        )

    assert Customer.objects.count() == 2


@pytest.mark.django_db
def test_command_refuses_a_missing_file(store):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_customers", "--store=alpha", "/nonexistent.csv")


@pytest.mark.django_db
def test_a_customer_since_in_the_future_is_a_cell_error(store):
    result = run(
        store,
        "Email,Customer Since\nfuture@example.org,2999-01-01\npast@example.org,2020-01-01\n",
        format_name="native",
    )
    assert [(e["row"], e["column"]) for e in result.errors] == [(2, "Customer Since")]
    assert "in the future" in result.errors[0]["message"]
    assert Customer.objects.filter(email="past@example.org").exists()
    assert not Customer.objects.filter(email="future@example.org").exists()


@pytest.mark.django_db
def test_a_new_custom_field_cannot_take_a_built_in_columns_key(store):
    from customers.models import CustomField

    with pytest.raises(FileProblem, match="built-in customer column"):
        run(store, "Email,Mail (custom.email)\na@example.org,x\n", format_name="native")
    # A field that already has such a key (made before the rule) still imports.
    CustomField.objects.create(store=store, key="phone", label="Phone", field_type="text")
    result = run(store, "Email,Phone (custom.phone)\na@example.org,123\n", format_name="native")
    assert not result.errors
    assert customer("a@example.org").custom_fields == {"phone": "123"}
