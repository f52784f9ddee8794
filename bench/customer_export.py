"""Export a big store's customers: ours vs ``COPY (SELECT …) TO STDOUT`` of the same columns.

    python -m bench customer_export [--store big] [--rounds 3] [--no-record]

Needs the seeded million-customer store (``/tmp/team/big-store-ready``). After one
untimed warm-up COPY, each round runs our export, the baseline COPY and the baseline
without JIT, in an order that rotates from round to round; the medians are compared (the
machine is shared, single runs vary a lot). The process's peak RSS covers every run (the
baselines stream too).
"""

import argparse
import os
import resource
import statistics
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


def time_ours(store: Store) -> tuple[float, int]:
    sink = CountingSink()
    started = time.perf_counter()
    customers_export(store=store, out=sink)
    return time.perf_counter() - started, sink.size


def time_baseline(store: Store, *, jit: bool = True) -> tuple[float, int]:
    """The very same SELECT (same cells, same escaping) as one COPY, with the server's
    settings (``jit=False``: with JIT compilation off, as our export runs it)."""
    columns, custom = export_columns(store)
    sql, _params = export_select_sql(columns, custom)
    params = {"tz": store.time_zone, "store": store.pk}
    params.update({f"cf_{field.pk}": field.key for field in custom})
    sink = CountingSink()
    with connection.cursor() as cursor:
        if not jit:
            cursor.execute("SET jit = off")
        query = cursor.cursor.mogrify(sql, params)
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
            for chunk in copy:
                sink.write(chunk)
        elapsed = time.perf_counter() - started
        if not jit:
            cursor.execute("RESET jit")
    return elapsed, sink.size


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench customer_export")
    parser.add_argument("--store", default="big")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    store = Store.objects.filter(slug=args.store).first()
    if store is None:
        raise SystemExit(f"No store {args.store!r}: seed it first (python -m bench seed).")
    rss_before = peak_rss_mb()
    paths = {
        "ours": lambda: time_ours(store),
        "copy": lambda: time_baseline(store),
        "copy_nojit": lambda: time_baseline(store, jit=False),
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    sizes: dict[str, int] = {}
    with store_scope(store):
        count = Customer.objects.filter(store=store).count()
        columns, custom = export_columns(store)
        time_baseline(store)  # warm-up, untimed: both paths then read a warm cache
        order = list(paths)
        for round_number in range(args.rounds):
            # Rotate the order each round, so no path always runs first or last.
            shift = round_number % len(order)
            for name in order[shift:] + order[:shift]:
                elapsed, sizes[name] = paths[name]()
                times[name].append(elapsed)
                print(f"round {round_number + 1}: {name} {elapsed:.2f} s", flush=True)
    rss_peak = peak_rss_mb()
    median = {name: statistics.median(values) for name, values in times.items()}

    def runs(name: str) -> str:
        return ", ".join(f"{value:.1f}" for value in times[name])

    lines = [
        f"## customer_export — {date.today().isoformat()}",
        "",
        "Command: `DATABASE_URL=" + os.environ.get("DATABASE_URL", "") + " python -m bench "
        f"customer_export --store {args.store} --rounds {args.rounds}`",
        "",
        f"{count:,} customers of store `{args.store}`, {len(columns) + len(custom)} columns "
        "(native format: default addresses joined, tags aggregated, formula cells neutralised). "
        f"One untimed warm-up COPY, then {args.rounds} rounds of the three paths in rotating "
        "order; medians.",
        "",
        "| path | median s | runs (s) | MB written | ratio |",
        "| --- | ---: | --- | ---: | --- |",
        f"| our export (COPY per id window, streamed) | {median['ours']:.2f} | {runs('ours')} | "
        f"{sizes['ours'] / 1e6:.1f} | {median['ours'] / median['copy']:.2f}× COPY "
        f"(target ≤ 2×); {median['ours'] / median['copy_nojit']:.2f}× COPY without JIT |",
        "| `COPY (SELECT …) TO STDOUT` of the same SELECT in one statement (baseline) | "
        f"{median['copy']:.2f} | {runs('copy')} | {sizes['copy'] / 1e6:.1f} | 1× |",
        "| the same COPY with `SET jit = off` (as ours runs) | "
        f"{median['copy_nojit']:.2f} | {runs('copy_nojit')} | {sizes['copy_nojit'] / 1e6:.1f} "
        "| |",
        "",
        f"Peak RSS of the process over all runs: {rss_peak:.0f} MB "
        f"(before: {rss_before:.0f} MB; target < 300 MB).",
    ]
    print("\n".join(lines))
    if not args.no_record:
        with (Path(__file__).parent / "RESULTS.md").open("a", encoding="utf-8") as out:
            out.write("\n" + "\n".join(lines) + "\n")
