"""Customer list speed on the million-customer store: ``python -m bench customer_list``.

Every figure is the median server time of a full request: Django's WSGI entry point called
as a server calls it (real middleware, a signed-in member's session cookie, templates
rendered, the body read to its end), beside a baseline measured in the same run:

(a) first page sorted by total spent (desc) with one filter (country) vs the bare SQL query
    fetching the same 50 rows — target at most 3x;
(b) page 2,000 (reached with the page jump: a keyset read after an index-only offset) and a
    name search, each vs the Django admin changelist of Customer showing the same page for
    the same store — target at least 10x faster.

(a) is also measured for one filter of every kind the list has (``--every-filter``, on by
default): the same first page and sort, each against its own bare query.

For scale, the run also times (a) in the admin changelist (same store, country and sort)
and a placeholder panel page (``/store/<slug>/reports/``: the
same middleware, session, user and membership reads and layout, no list), the floor any
panel page pays before its own work.

Options: ``--store big`` ``--repeat 31`` ``--country DE`` ``--search müller``
``--no-record`` (do not append to bench/RESULTS.md).
"""

import argparse
import datetime as dt
import io
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from customers.models import CustomerGroup, CustomerTag
from storefront_crm.models import Membership, Role, Store, User
from storefront_crm.tenancy import all_stores

RESULTS = Path(__file__).with_name("RESULTS.md")
PAGE_SIZE = 50
WSGI = WSGIHandler()


def median_ms_interleaved(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Medians of two measurements taken in turns, so that a busy moment of the machine
    falls on both (the ratio of (a) compares them)."""
    first(), second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for run, samples in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            run()
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def median_ms(run: Callable[[], object], repeat: int) -> float:
    run()  # warm caches and connections
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def server_get(client: Client, url: str) -> Callable[[], bytes]:
    """A GET of ``url`` as a WSGI server makes it (gunicorn calls the same entry point),
    with ``client``'s session cookie: the time is the server's, from the request's environ
    to the last byte of the body. (The test Client adds its own work around the call:
    building the request, copying cookies and the response, about 1 ms per request.)"""
    path, _, query = url.partition("?")
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())

    def run() -> bytes:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "HTTP_COOKIE": cookie,
            "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        statuses: list[str] = []
        body = b"".join(WSGI(environ, lambda status, headers, *_: statuses.append(status)))
        if not statuses[0].startswith("200"):
            sys.exit(f"GET {url} answered {statuses[0]}")
        return body

    return run


class QueryTimer:
    """Adds up the time the request's SQL statements take (round trip to PostgreSQL and
    back, as the bare query is timed), to tell the database's share from Django's."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):  # noqa: ANN001, ANN204
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.statements += 1


def median_db_ms(run: Callable[[], object], repeat: int) -> tuple[float, int]:
    """Median SQL time per request of ``run`` and its number of statements."""
    run()
    times, statements = [], 0
    for _ in range(repeat):
        timer = QueryTimer()
        with connection.execute_wrapper(timer):
            run()
        times.append(timer.seconds * 1000)
        statements = timer.statements
    return statistics.median(times), statements


def bare_sql(store: Store, country: str) -> Callable[[], object]:
    return bare_filtered_sql(store, "country = %s", [country])


def bare_filtered_sql(store: Store, where: str, params: list[Any]) -> Callable[[], object]:
    """The bare query of (a) for one filter: the first 50 rows by total spent, every column."""
    sql = (
        f"SELECT * FROM customers_customer c WHERE c.store_id = %s AND {where} "
        "ORDER BY c.total_spent DESC, c.id DESC LIMIT 50"
    )

    def run() -> object:
        with connection.cursor() as cursor:
            cursor.execute(sql, [store.pk, *params])
            return cursor.fetchall()

    return run


@dataclass(frozen=True)
class FilterCase:
    """One filter of the list, as URL parameters and as the bare query's condition."""

    label: str
    query: str
    where: str
    params: list[Any]


def filter_cases(store: Store, country: str) -> list[FilterCase]:
    """A filter of every kind the list offers, each with a value that matches many rows."""
    group = CustomerGroup.objects.filter(store=store).exclude(name__in=["Standard", "Guests"])
    group_id = group.order_by("pk").values_list("pk", flat=True).first()
    tag_id = (
        CustomerTag.objects.filter(store=store)
        .annotate(uses=Count("tagged_items"))
        .order_by("-uses", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    since = dt.date.today() - dt.timedelta(days=365)
    since_start = dt.datetime.combine(since, dt.time.min, tzinfo=ZoneInfo(store.time_zone))
    cases = [
        FilterCase(f"country={country}", f"country={country}", "c.country = %s", [country]),
        FilterCase("spent ≥ 100", "spent_min=100", "c.total_spent >= %s", [100]),
        FilterCase("orders ≥ 3", "orders_min=3", "c.orders_count >= %s", [3]),
        FilterCase(
            f"customer since {since}",
            f"since_from={since}",
            "c.customer_since >= %s",
            [since_start],
        ),
        FilterCase(
            f"last order since {since}",
            f"last_order_from={since}",
            "c.last_order_at >= %s",
            [since_start],
        ),
        FilterCase("accepts marketing", "marketing=yes", "c.accepts_marketing", []),
        FilterCase("tax exempt", "tax_exempt=yes", "c.tax_exempt", []),
        FilterCase("account registered", "state=registered", "c.account_type = %s", ["registered"]),
    ]
    if group_id is not None:
        cases.append(FilterCase("group", f"group={group_id}", "c.group_id = %s", [group_id]))
    if tag_id is not None:
        cases.append(
            FilterCase(
                "tag (any of)",
                f"tag={tag_id}",
                "EXISTS (SELECT 1 FROM customers_taggedcustomer t WHERE t.store_id = c.store_id"
                " AND t.content_object_id = c.id AND t.tag_id = %s)",
                [tag_id],
            )
        )
    return cases


def shown_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="ids" value="(\d+)"', html)]


def staff(email: str, **extra: object) -> User:
    user = User.objects.filter(username=User.login_name(email, None)).first()
    if user is None:
        user = User.objects.create_user(email, password=None, **extra)
    return user


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench customer_list")
    parser.add_argument("--store", default="big")
    parser.add_argument("--repeat", type=int, default=31)
    parser.add_argument("--country", default="DE")
    parser.add_argument("--search", default="müller")
    parser.add_argument("--page", type=int, default=2000)
    parser.add_argument(
        "--every-filter",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure (a) with one filter of every kind",
    )
    parser.add_argument("--no-record", action="store_true")
    options = parser.parse_args(argv)

    settings.DEBUG = False  # as in production: no query log kept per request
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    with all_stores():
        store = Store.objects.filter(slug=options.store).first()
        if store is None:
            sys.exit(f"No store {options.store!r} in this database; seed it first.")
        owner = staff("bench-owner@example.com")
        Membership.objects.get_or_create(store=store, user=owner, defaults={"role": Role.OWNER})
        admin = staff("bench-admin@example.com")
        if not admin.is_superuser:
            admin.is_staff = admin.is_superuser = True
            admin.save()
        customers = connection.cursor()
        customers.execute("SELECT count(*) FROM customers_customer WHERE store_id = %s", [store.pk])
        total = customers.fetchone()[0]

    panel, operators = Client(), Client()
    panel.force_login(owner)
    operators.force_login(admin)
    list_url = reverse("panel:customers", kwargs={"store_slug": store.slug})
    admin_url = reverse("admin:customers_customer_changelist")
    store_filter = f"store__id__exact={store.pk}"

    first_page = f"{list_url}?country={options.country}&sort=-spent"
    deep_page = f"{list_url}?page={options.page}"
    search = f"{list_url}?q={options.search}"
    # The admin's page parameter counts from 1 in Django 5 (p=2000 is the 2,000th page).
    admin_deep = f"{admin_url}?{store_filter}&p={options.page}"
    admin_search = f"{admin_url}?{store_filter}&q={options.search}"
    # The admin's column 6 is total spent (CustomerAdmin.list_display); "-6" sorts it down.
    admin_first = f"{admin_url}?{store_filter}&country__exact={options.country}&o=-6"
    # One request through each client, so that its cookies hold the CSRF cookie a browser
    # would send (without it, every request makes and sets a new one).
    panel.get(first_page)
    operators.get(admin_first)
    floor_url = reverse("panel:section", kwargs={"store_slug": store.slug, "section": "reports"})

    # Same rows in (a): the list and the bare query must agree.
    rows = [row[0] for row in bare_sql(store, options.country)()]
    if rows != shown_ids(server_get(panel, first_page)().decode()):
        sys.exit("The list and the bare SQL query disagree on the first page.")

    a_list, a_sql = median_ms_interleaved(
        server_get(panel, first_page), bare_sql(store, options.country), options.repeat
    )
    measured = {
        "a_list": a_list,
        "a_sql": a_sql,
        "floor": median_ms(server_get(panel, floor_url), options.repeat),
        "b_list": median_ms(server_get(panel, deep_page), options.repeat),
        "a_admin": median_ms(server_get(operators, admin_first), max(3, options.repeat // 3)),
        "b_admin": median_ms(server_get(operators, admin_deep), max(3, options.repeat // 3)),
        "c_list": median_ms(server_get(panel, search), options.repeat),
        "c_admin": median_ms(server_get(operators, admin_search), max(3, options.repeat // 3)),
    }
    a_db_ms, a_statements = median_db_ms(server_get(panel, first_page), options.repeat)
    ratio_a = measured["a_list"] / measured["a_sql"]
    ratio_b = measured["b_admin"] / measured["b_list"]
    ratio_c = measured["c_admin"] / measured["c_list"]
    lines = [
        f"store `{store.slug}`: {total:,} customers; median of {options.repeat} requests "
        "(admin: of a third as many), server time at the WSGI entry point, signed in, DEBUG off",
        "",
        "| measurement | ours | baseline | ratio | target | met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
        f"| (a) first page, country={options.country}, sort -total spent | "
        f"{measured['a_list']:.1f} ms | bare SQL, same 50 rows: {measured['a_sql']:.1f} ms | "
        f"{ratio_a:.1f}x | ≤ 3x | {'yes' if ratio_a <= 3 else 'NO'} |",
        f"| (a, for scale) the same first page | {measured['a_list']:.1f} ms | "
        f"admin changelist: {measured['a_admin']:.1f} ms | "
        f"{measured['a_admin'] / measured['a_list']:.1f}x faster | — | — |",
        f"| (b) page {options.page:,} (page jump + keyset) | {measured['b_list']:.1f} ms | "
        f"admin changelist p={options.page}: {measured['b_admin']:.1f} ms | "
        f"{ratio_b:.1f}x faster | ≥ 10x | {'yes' if ratio_b >= 10 else 'NO'} |",
        f"| (c) name search q={options.search} | {measured['c_list']:.1f} ms | "
        f"admin changelist q=: {measured['c_admin']:.1f} ms | {ratio_c:.1f}x faster | ≥ 10x | "
        f"{'yes' if ratio_c >= 10 else 'NO'} |",
        "",
        f"For scale: a placeholder panel page (no list, same middleware, session, user, "
        f"membership and layout) took {measured['floor']:.1f} ms, "
        f"{measured['floor'] / measured['a_sql']:.1f}x the bare query of (a).",
        f"The database's share of (a): its {a_statements} SQL statements (the membership with "
        f"its user and store; the page with its count; the session is read from the cache) "
        f"took {a_db_ms:.1f} ms per request, "
        f"{a_db_ms / measured['a_sql']:.1f}x the bare query; the rest, "
        f"{measured['a_list'] - a_db_ms:.1f} ms, is Django: middleware, filter form, rows "
        "and templates.",
    ]
    if options.every_filter:
        with all_stores():
            cases = filter_cases(store, options.country)
        lines += ["", *every_filter_lines(panel, store, list_url, cases, options.repeat)]
    print("\n".join(lines))
    if not options.no_record:
        command = "python -m bench customer_list " + " ".join(argv)
        section = [
            "",
            f"## customer_list — {dt.date.today().isoformat()}",
            "",
            f"Command: `DATABASE_URL={_safe_url()}{_redis_env()} {command.strip()}`",
            "",
            *lines,
            "",
        ]
        with RESULTS.open("a", encoding="utf-8") as results:
            results.write("\n".join(section))
        print(f"\nAppended to {RESULTS}")


def every_filter_lines(
    panel: Client, store: Store, list_url: str, cases: list[FilterCase], repeat: int
) -> list[str]:
    """(a) for each filter: the page against its own bare query, interleaved."""
    lines = [
        "(a) with one filter of each kind (first page, sort -total spent; each filter's own "
        "bare query, interleaved with the page):",
        "",
        "| filter | ours | bare SQL, same 50 rows | ratio | ≤ 3x |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for case in cases:
        page = server_get(panel, f"{list_url}?{case.query}&sort=-spent")
        bare = bare_filtered_sql(store, case.where, case.params)
        if [row[0] for row in bare()] != shown_ids(page().decode()):
            sys.exit(f"The list and the bare SQL query disagree for the filter {case.label}.")
        ours, baseline = median_ms_interleaved(page, bare, repeat)
        ratio = ours / baseline
        lines.append(
            f"| {case.label} | {ours:.1f} ms | {baseline:.1f} ms | {ratio:.1f}x | "
            f"{'yes' if ratio <= 3 else 'NO'} |"
        )
    return lines


def _safe_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db.get('USER', '')}@{db.get('HOST', '')}:{db.get('PORT', '')}/{db['NAME']}"


def _redis_env() -> str:
    """The Redis the session cache used, if any (without one, sessions sit in local memory)."""
    url = os.environ.get("REDIS_URL", "")
    return f" REDIS_URL={url}" if url else ""
