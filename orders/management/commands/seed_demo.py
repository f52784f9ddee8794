"""``manage.py seed_demo``: the demo store; with ``--customers`` a big store for benchmarks."""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.demo import (
    DEMO_NAME,
    DEMO_PASSWORD,
    DEMO_SLUG,
    SEED,
    SeedLog,
    bulk_store_seed,
    demo_store_seed,
    staff_email,
    store_with_staff_ensure,
)
from storefront_crm.errors import ServiceError
from storefront_crm.tenancy import store_scope


class Command(BaseCommand):
    help = (
        "Create the demo store (safe to run again: it only tops up what is missing). "
        "With --customers, fill a store in bulk for benchmarks (COPY on PostgreSQL), "
        "e.g. --store big --customers 1000000 --orders 3000000."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--store", default=DEMO_SLUG, metavar="SLUG", help="the store (created if missing)"
        )
        parser.add_argument("--customers", type=int, help="bulk mode: how many customers")
        parser.add_argument("--orders", type=int, help="bulk mode: how many orders (3 × customers)")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="bulk mode: delete the store's customers and orders first",
        )
        parser.add_argument("--seed", type=int, default=SEED, help="random seed (bulk mode)")

    def handle(self, *args, **options) -> None:
        slug = options["store"]
        log = SeedLog(self.stdout.write)
        started = time.perf_counter()
        bulk = options["customers"] is not None or options["orders"] is not None
        try:
            if bulk:
                self._bulk(slug, options, log)
            else:
                name = DEMO_NAME if slug == DEMO_SLUG else f"{slug.title()} Shop"
                demo_store_seed(slug=slug, name=name, log=log)
        except ServiceError as error:
            raise CommandError(error.message) from None
        log.record("total", time.perf_counter() - started)
        self.stdout.write(
            self.style.SUCCESS(
                f"\nSign in at /login/ and open /store/{slug}/ as {staff_email('owner', slug)} "
                f"with the password {DEMO_PASSWORD} ({staff_email('manager', slug)} and "
                f"{staff_email('support', slug)} use the same password)."
            )
        )

    def _bulk(self, slug: str, options: dict, log: SeedLog) -> None:
        customers = options["customers"]
        if customers is None or customers < 1:
            raise CommandError("Bulk mode needs --customers N (at least 1).")
        orders = options["orders"] if options["orders"] is not None else 3 * customers
        if orders < 0:
            raise CommandError("--orders cannot be negative.")
        log.say(f"Seeding store “{slug}”: {customers:,} customers, {orders:,} orders.")
        store = store_with_staff_ensure(slug=slug, name=f"{slug.title()} Shop", log=log)
        with store_scope(store):
            counts = bulk_store_seed(
                store=store,
                customers=customers,
                orders=orders,
                seed=options["seed"],
                replace=options["replace"],
                log=log,
            )
        log.say("Rows written: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
