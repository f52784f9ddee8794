"""``manage.py export_orders --store SLUG [--output FILE] [--from DATE --to DATE] [--products]``"""

from datetime import date
from functools import partial
from typing import Any

from django.core.management.base import CommandError, CommandParser

from customers.services.activity import activity_record
from orders.io.exporter import ordered_products_export, orders_export
from storefront_crm.management.base import StoreCommand


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"“{value}” is not a date (YYYY-MM-DD).") from None


class Command(StoreCommand):
    help = (
        "Export the store's orders as native CSV (one row per item), stdout by default. "
        "--from/--to are days of the store's calendar, both included."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")
        parser.add_argument("--from", dest="date_from", metavar="DATE", help="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", metavar="DATE", help="YYYY-MM-DD")
        parser.add_argument(
            "--products",
            action="store_true",
            help="export the ordered products (quantity sold, orders, supplier) instead",
        )

    def handle(self, *args: Any, store: Any, **options: Any) -> None:
        date_from = _day(options["date_from"]) if options["date_from"] else None
        date_to = _day(options["date_to"]) if options["date_to"] else None
        if date_from and date_to and date_from > date_to:
            raise CommandError("--from is after --to.")
        export = ordered_products_export if options["products"] else orders_export
        output = options["output"]
        kwargs = {"store": store, "date_from": date_from, "date_to": date_to}
        count = self.export_write(output, partial(export, **kwargs))
        what = "ordered products" if options["products"] else "orders"
        activity_record(
            store=store,
            customer=None,
            actor=None,
            verb="orders.exported",
            what=what,
            count=count,
            date_from=options["date_from"],
            date_to=options["date_to"],
            via="command",
        )
        if output:
            self.stderr.write(f"{count} {what} exported to {output}.")
