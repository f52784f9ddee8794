"""``manage.py export_customers --store SLUG [--output FILE] [--segment ID]``"""

import io
import sys
from types import SimpleNamespace
from typing import Any

from django.core.management.base import CommandError, CommandParser

from customers.io.exporter import customers_export
from customers.io.jobs import segment_customers
from customers.services import activity_record
from storefront_crm.errors import ServiceError
from storefront_crm.management.base import StoreCommand


class Command(StoreCommand):
    help = "Export the store's customers (or a segment's) as native CSV; stdout by default."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")
        parser.add_argument("--segment", metavar="ID", type=int, help="only this segment")

    def handle(self, *args: Any, store: Any, **options: Any) -> None:
        selection = None
        if options["segment"] is not None:
            try:
                selection = segment_customers(store, options["segment"])
            except ServiceError as problem:
                raise CommandError(problem.message) from None
        output = options["output"]
        draw = self.progress_printer("Exporting") if output else None

        def on_progress(done: int, total: int) -> None:
            if draw:
                percent = 100 if not total else min(100, done * 100 // total)
                draw(SimpleNamespace(percent=percent, progress_done=done, progress_total=total))

        if output:
            with open(output, "wb") as out:
                count = customers_export(
                    store=store, out=out, selection=selection, on_progress=on_progress
                )
        else:
            stream = getattr(self.stdout._out, "buffer", None)
            if stream is not None and self.stdout._out is sys.stdout:
                self.stdout._out.flush()
                count = customers_export(store=store, out=stream, selection=selection)
                stream.flush()
            else:  # a text stream (call_command(stdout=StringIO()))
                buffer = io.BytesIO()
                count = customers_export(store=store, out=buffer, selection=selection)
                self.stdout._out.write(buffer.getvalue().decode("utf-8"))
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
