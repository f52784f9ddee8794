"""Import N new customers from a Shopify file (tags and addresses included) three ways.

    python -m bench customer_import [--rows 100000] [--rounds 3] [--row-by-row-rows 5000]
        [--no-record]

1. our import (``customers.io.importer.customers_import`` with ``on_error="abort"``: a
   checking thread a batch ahead of the COPY batches, all in one transaction, an activity
   event per customer);
2. baseline: PostgreSQL ``COPY`` of the same rows (already converted, only the COPY timed)
   into the customer table;
3. baseline: django-import-export's default row-by-row ``import_data`` with the same
   resource, timed once on the first ``--row-by-row-rows`` rows and extrapolated linearly.

1 and 2 run ``--rounds`` times each, alternating, the order swapped every round; the
medians are compared (the machine is shared, single runs vary a lot).

Each run uses fresh stores (kept; use a bench database of its own).
Results are appended to bench/RESULTS.md.
"""

import argparse
import csv
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import tablib
from django.db import connection
from django.utils import timezone

from customers.io.formats import ShopifyResource
from customers.io.importer import ImportOptions, customers_import
from customers.io.writer import CUSTOMER_COLUMNS, rows_copy
from customers.models import Customer, CustomerGroup, GroupKind
from customers.services.groups import group_defaults_create
from storefront_crm.models import Store
from storefront_crm.tenancy import all_stores, store_scope

HEADER = [
    "Customer ID",
    "First Name",
    "Last Name",
    "Email",
    "Accepts Email Marketing",
    "Default Address Company",
    "Default Address Address1",
    "Default Address Address2",
    "Default Address City",
    "Default Address Province Code",
    "Default Address Country Code",
    "Default Address Zip",
    "Default Address Phone",
    "Phone",
    "Accepts SMS Marketing",
    "Total Spent",
    "Total Orders",
    "Note",
    "Tax Exempt",
    "Tags",
]
COUNTRIES = ["DE", "AT", "CH", "IT", "FR", "NL", "US", "GB"]


def shopify_file(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(
                [
                    f"'{7_000_000_000 + n}",
                    f"First{n}",
                    f"Last{n}",
                    f"bench.customer{n}@example.com",
                    "yes" if n % 3 == 0 else "no",
                    "" if n % 5 else f"Company {n}",
                    f"Street {n % 997} {n}",
                    "",
                    f"City {n % 311}",
                    "",
                    COUNTRIES[n % len(COUNTRIES)],
                    f"{10000 + n % 89999}",
                    f"'+49 30 {n:07d}",
                    f"'+49 170 {n:07d}",
                    "no",
                    f"{(n % 500) * 1.5:.2f}",
                    str(n % 12),
                    "",
                    "no",
                    f"tag-{n % 40}, {'VIP' if n % 10 == 0 else 'Regular'}",
                ]
            )


def fresh_store(label: str) -> Store:
    stamp = int(time.time() * 1000)
    store = Store.objects.create(name=f"Bench {label}", slug=f"bench-{label}-{stamp}")
    group_defaults_create(store)
    return store


def time_our_import(path: Path) -> tuple[float, dict[str, int]]:
    store = fresh_store("import")
    with store_scope(store), path.open("rb") as source:
        started = time.perf_counter()
        result, _report = customers_import(
            store=store, source=source, options=ImportOptions(on_error="abort")
        )
        elapsed = time.perf_counter() - started
    assert not result.errors, result.errors[:5]
    return elapsed, result.counts() | {"store": store.pk}


def time_copy(path: Path) -> float:
    """COPY of the same customer rows (converted beforehand) into the customer table."""
    store = fresh_store("copy")
    with store_scope(store):
        group = CustomerGroup.objects.get(store=store, kind=GroupKind.GUESTS).pk
    now = timezone.now()
    rows = []
    with path.open(newline="", encoding="utf-8") as source:
        for record in csv.DictReader(source):
            accepts = record["Accepts Email Marketing"] == "yes"
            rows.append(
                (
                    store.pk,
                    record["Email"],
                    record["First Name"],
                    record["Last Name"],
                    record["Phone"].lstrip("'"),
                    record["Default Address Country Code"],
                    record["Default Address Company"],
                    now,
                    "import",
                    "guest",
                    True,
                    False,
                    False,
                    None,
                    accepts,
                    now if accepts else None,
                    False,
                    "",
                    group,
                    "{}",
                    int(record["Total Orders"]),
                    record["Total Spent"],
                    None,
                    None,
                    now,
                    now,
                )
            )
    with store_scope(store):
        started = time.perf_counter()
        from django.db import transaction

        with transaction.atomic():
            rows_copy(Customer, CUSTOMER_COLUMNS, rows)
        return time.perf_counter() - started


def time_row_by_row(path: Path, rows: int) -> float:
    store = fresh_store("rowbyrow")
    with path.open(encoding="utf-8") as source:
        head = "".join(line for _n, line in zip(range(rows + 1), source, strict=False))
    dataset = tablib.Dataset().load(head, format="csv")
    resource = ShopifyResource(store=store)
    with store_scope(store):
        started = time.perf_counter()
        result = resource.import_data(dataset, dry_run=False, raise_errors=True)
        elapsed = time.perf_counter() - started
    assert result.totals["new"] == rows, result.totals
    return elapsed


def stores_remove(prefixes: list[str]) -> None:
    """Delete the bench stores (customers first: groups are protected)."""
    for prefix in prefixes:
        for store in Store.objects.filter(slug__startswith=prefix):
            with store_scope(store):
                Customer.objects.filter(store=store).delete()
            store.delete()


def record(lines: list[str]) -> None:
    results = Path(__file__).parent / "RESULTS.md"
    with results.open("a", encoding="utf-8") as out:
        out.write("\n" + "\n".join(lines) + "\n")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench customer_import")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--row-by-row-rows", type=int, default=5_000)
    parser.add_argument(
        "--remove",
        action="store_true",
        help="delete the bench stores afterwards (slow: see RESULTS.md); default: keep them",
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark needs PostgreSQL (DATABASE_URL).")
    with tempfile.TemporaryDirectory() as folder, all_stores():
        path = Path(folder) / "shopify.csv"
        shopify_file(path, args.rows)
        size = path.stat().st_size
        times: dict[str, list[float]] = {"ours": [], "copy": []}
        for round_number in range(args.rounds):
            for name in ("ours", "copy") if round_number % 2 == 0 else ("copy", "ours"):
                if name == "ours":
                    elapsed, counts = time_our_import(path)
                else:
                    elapsed = time_copy(path)
                times[name].append(elapsed)
                print(f"round {round_number + 1}: {name} {elapsed:.2f} s", flush=True)
        ours = statistics.median(times["ours"])
        copy = statistics.median(times["copy"])
        row_by_row = time_row_by_row(path, args.row_by_row_rows)
        extrapolated = row_by_row * args.rows / args.row_by_row_rows
        if args.remove:
            stores_remove(["bench-import-", "bench-copy-", "bench-rowbyrow-"])
    lines = [
        f"## customer_import — {date.today().isoformat()}",
        "",
        "Command: `DATABASE_URL=" + os.environ.get("DATABASE_URL", "") + " python -m bench "
        f"customer_import --rows {args.rows} --rounds {args.rounds} "
        f"--row-by-row-rows {args.row_by_row_rows}`",
        "",
        f"{args.rows:,} new customers, Shopify format ({size / 1e6:.1f} MB: 2 tags each, a "
        "default address, phones with a spreadsheet apostrophe). Ours and the COPY "
        f"alternate for {args.rounds} rounds (order swapped each round); medians.",
        "",
        "| path | median s | runs (s) | rows/s | ratio |",
        "| --- | ---: | --- | ---: | --- |",
        "| our import (checking thread a batch ahead of the COPY batches: customers, tags, "
        f"addresses, activity events; one transaction) | {ours:.2f} | "
        f"{', '.join(f'{t:.1f}' for t in times['ours'])} | "
        f"{args.rows / ours:,.0f} | {ours / copy:.2f}× COPY (target ≤ 3×) |",
        f"| PostgreSQL COPY of the same customer rows only (baseline) | {copy:.2f} | "
        f"{', '.join(f'{t:.1f}' for t in times['copy'])} | {args.rows / copy:,.0f} | 1× |",
        f"| django-import-export row by row, {args.row_by_row_rows:,} rows measured once | "
        f"{row_by_row:.2f} | | {args.row_by_row_rows / row_by_row:,.0f} | |",
        f"| … extrapolated linearly to {args.rows:,} rows | {extrapolated:.1f} | | | "
        f"ours is {extrapolated / ours:.1f}× faster (target ≥ 20×) |",
        "",
        f"Counts of our import: {counts}",
    ]
    print("\n".join(lines))
    if not args.no_record:
        record(lines)


if __name__ == "__main__":  # pragma: no cover
    import sys

    main(sys.argv[1:])
