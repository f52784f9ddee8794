"""Bulk seed speed: ``python -m bench seed --customers 100000 --orders 300000``.

Times ``seed_demo``'s bulk path (rows generated in Python, COPY into the real tables with
their indexes and constraints, aggregates, order numbers, reference checks, ANALYZE)
beside a baseline measured in the same run: a raw COPY of the same customer rows into a
scratch table without indexes (the generation of those rows is not timed).

Everything happens in one transaction that is rolled back at the end, so the database is
left as it was; the seeded tables are locked for writes meanwhile (and for reads too when
the seed is large enough to rebuild the indexes). Options: ``--store seed-bench``
``--seed 2026`` ``--no-record`` (do not append to bench/RESULTS.md).
"""

import argparse
import datetime as dt
import os
import time
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from orders.demo import (
    BULK_TABLES,
    CUSTOMERS,
    SEED,
    BulkSpec,
    IdBlock,
    SeedLog,
    bulk_rows,
    bulk_store_seed,
    catalogue_ensure,
    order_numbers_plan,
    store_with_staff_ensure,
)
from storefront_crm.tenancy import store_scope

RESULTS = Path(__file__).with_name("RESULTS.md")


class RolledBack(Exception):
    pass


def raw_customer_copy_seconds(spec: BulkSpec) -> float:
    """COPY the seed's customer rows into an unindexed scratch table; only COPY is timed."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in CUSTOMERS.columns())
    ids = {table: IdBlock(1) for table in BULK_TABLES}
    numbers = order_numbers_plan(spec)
    seconds = 0.0
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        cursor.execute(
            "CREATE TEMP TABLE seed_bench_scratch "
            f"(LIKE {quote(CUSTOMERS.db_table)} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        for chunk in bulk_rows(spec, ids, numbers):
            rows = chunk[CUSTOMERS]
            if not rows:
                continue
            data = "\n".join(["\t".join(row) for row in rows]) + "\n"
            started = time.perf_counter()
            with cursor.copy(f"COPY seed_bench_scratch ({columns}) FROM STDIN") as copy:
                copy.write(data)
            seconds += time.perf_counter() - started
    return seconds


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench seed")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int)
    parser.add_argument("--store", default="seed-bench")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-record", action="store_true")
    options = parser.parse_args(argv)
    orders = options.orders if options.orders is not None else 3 * options.customers
    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark needs PostgreSQL (DATABASE_URL).")

    lines: list[str] = []
    log = SeedLog(print)
    try:
        with transaction.atomic():
            store = store_with_staff_ensure(slug=options.store, name="Seed Bench Shop", log=log)
            with store_scope(store):
                started = time.perf_counter()
                counts = bulk_store_seed(
                    store=store,
                    customers=options.customers,
                    orders=orders,
                    seed=options.seed,
                    replace=True,
                    log=log,
                )
                seed_seconds = time.perf_counter() - started
                spec = BulkSpec(
                    store,
                    catalogue_ensure(store=store, actor=None),
                    options.customers,
                    orders,
                    options.seed,
                    int(timezone.now().timestamp()),
                )
                baseline = raw_customer_copy_seconds(spec)
            raise RolledBack
    except RolledBack:
        pass

    rows = sum(counts.values())
    lines.append(
        f"| bulk seed, all tables ({rows:,} rows) | {seed_seconds:.1f} s "
        f"| raw COPY of the {options.customers:,} customer rows only: {baseline:.1f} s "
        f"| {seed_seconds / baseline:.1f}x |"
    )
    lines.append(
        f"| per row written | {seed_seconds / rows * 1e6:.1f} µs "
        f"| per customer row: {baseline / options.customers * 1e6:.1f} µs "
        f"| {(seed_seconds / rows) / (baseline / options.customers):.1f}x |"
    )
    lines.append(
        f"| per customer (with its ~{orders / options.customers:.0f} orders, items, addresses, "
        f"tags) | {seed_seconds / options.customers * 1e6:.0f} µs "
        f"| {baseline / options.customers * 1e6:.1f} µs | |"
    )
    table = "\n".join(
        ["| measurement | seed | baseline | ratio |", "| --- | ---: | --- | ---: |", *lines]
    )
    phases = "\n".join(f"- {name}: {seconds:.1f} s" for name, seconds in log.timings.items())
    print("\n" + table + "\n\nPhases:\n" + phases)
    if options.no_record:
        return
    command = (
        "python -m bench seed "
        f"--customers {options.customers} --orders {orders} --store {options.store}"
    )
    section = (
        f"\n## seed — {dt.date.today().isoformat()}\n\n"
        f"Command: `DATABASE_URL={os.environ['DATABASE_URL']} {command}` "
        "(rolled back at the end)\n\n"
        f"{table}\n\nRows: "
        + ", ".join(f"{name} {count:,}" for name, count in counts.items())
        + f"\n\nPhases of the seed:\n{phases}\n"
    )
    with RESULTS.open("a", encoding="utf-8") as results:
        results.write(section)
