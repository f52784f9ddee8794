"""Export a big store's customers: ours vs ``COPY (SELECT …) TO STDOUT`` of the same columns.

    python -m bench customer_export [--store big] [--no-record]

Needs the seeded million-customer store (``/tmp/team/big-store-ready``). Our export runs
first, so the process's peak RSS read right after it is the export's own peak.
"""

import argparse
import os
import resource
import time
from datetime import date
from pathlib import Path

from django.db import connection

from customers.io.exporter import customers_export, export_columns, export_select_sql
from customers.models import Customer
from storefront_crm.models import Store
from storefront_crm.tenancy import store_scope


class CountingSink:
    """A write-only file that only counts bytes (the disk is not what we measure)."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        pass

    closed = False


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench customer_export")
    parser.add_argument("--store", default="big")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    store = Store.objects.filter(slug=args.store).first()
    if store is None:
        raise SystemExit(f"No store {args.store!r}: seed it first (python -m bench seed).")
    rss_before = peak_rss_mb()
    with store_scope(store):
        count = Customer.objects.filter(store=store).count()
        sink = CountingSink()
        started = time.perf_counter()
        customers_export(store=store, out=sink)
        ours = time.perf_counter() - started
        rss_ours = peak_rss_mb()
        columns, custom = export_columns(store)
        sql, _params = export_select_sql(columns, custom)
        params = {"tz": store.time_zone, "store": store.pk}
        params.update({f"cf_{field.pk}": field.key for field in custom})
        baseline_sink = CountingSink()
        with connection.cursor() as cursor:
            # The very same SELECT (same cells, same escaping), as one COPY.
            query = cursor.cursor.mogrify(sql, params)
            started = time.perf_counter()
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
                for chunk in copy:
                    baseline_sink.write(chunk)
            baseline = time.perf_counter() - started
    lines = [
        f"## customer_export — {date.today().isoformat()}",
        "",
        "Command: `DATABASE_URL=" + os.environ.get("DATABASE_URL", "") + " python -m bench "
        f"customer_export --store {args.store}`",
        "",
        f"{count:,} customers of store `{args.store}`, {len(columns) + len(custom)} columns "
        "(native format: default addresses joined, tags aggregated, formula cells neutralised).",
        "",
        "| path | seconds | MB written | ratio |",
        "| --- | ---: | ---: | --- |",
        f"| our export (COPY per id window, streamed) | {ours:.2f} | {sink.size / 1e6:.1f} | "
        f"{ours / baseline:.2f}× COPY (target ≤ 2×) |",
        f"| `COPY (SELECT …) TO STDOUT` of the same SELECT in one statement (baseline) | "
        f"{baseline:.2f} | {baseline_sink.size / 1e6:.1f} | 1× |",
        "",
        f"Peak RSS of the process after our export: {rss_ours:.0f} MB "
        f"(before: {rss_before:.0f} MB; target < 300 MB).",
    ]
    print("\n".join(lines))
    if not args.no_record:
        with (Path(__file__).parent / "RESULTS.md").open("a", encoding="utf-8") as out:
            out.write("\n" + "\n".join(lines) + "\n")
