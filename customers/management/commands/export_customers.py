"""``manage.py export_customers --store SLUG [--output FILE] [--segment ID]
[--dialect standard|spreadsheet]``"""

from functools import partial
from typing import Any

from django.core.management.base import CommandError, CommandParser

from customers.io.exporter import CSV_DIALECTS, customers_export
from customers.io.jobs import segment_customers
from customers.services.activity import activity_record
from storefront_crm.errors import ServiceError
from storefront_crm.management.base import StoreCommand


class Command(StoreCommand):
    help = "Export the store's customers (or a segment's) as native CSV; stdout by default."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")
        parser.add_argument("--segment", metavar="ID", type=int, help="only this segment")
        parser.add_argument(
            "--dialect",
            choices=sorted(CSV_DIALECTS),
            default="standard",
            help="standard: commas, decimal points; spreadsheet: semicolons, decimal commas "
            "and a byte-order mark, as German and Italian Excel read CSV",
        )

    def handle(self, *args: Any, store: Any, **options: Any) -> None:
        selection = None
        if options["segment"] is not None:
            try:
                selection = segment_customers(store, options["segment"])
            except ServiceError as problem:
                raise CommandError(problem.message) from None
        output = options["output"]
        count = self.export_write(
            output,
            partial(
                customers_export,
                store=store,
                selection=selection,
                dialect=CSV_DIALECTS[options["dialect"]],
            ),
        )
        activity_record(
            store=store,
            customer=None,
            actor=None,
            verb="customers.exported",
            count=count,
            segment=options["segment"],
            via="command",
        )
        if output:
            self.stderr.write(f"{count} customers exported to {output}.")
