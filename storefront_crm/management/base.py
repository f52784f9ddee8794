"""The base of every store-related management command: ``--store SLUG``, resolved once."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from storefront_crm.models import Job, Store
from storefront_crm.tenancy import store_scope


class StoreCommand(BaseCommand):
    store_required = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--store", required=self.store_required, metavar="SLUG", help="the store's slug"
        )

    def execute(self, *args: Any, **options: Any) -> Any:
        slug = options.get("store")
        if slug is None and not self.store_required:
            return super().execute(*args, **options)
        store = Store.objects.filter(slug=slug).first()
        if store is None:
            known = ", ".join(Store.objects.order_by("slug").values_list("slug", flat=True)[:20])
            raise CommandError(f"Unknown store “{slug}”. Known stores: {known or 'none'}.")
        options["store"] = store
        with store_scope(store):
            return super().execute(*args, **options)

    def progress_printer(self, label: str):
        """A callback for ``job_execute`` that draws a progress bar on a terminal."""
        stream = self.stderr._out
        interactive = stream.isatty()
        state = {"last": -1}

        def draw(job: Job) -> None:
            percent = job.percent
            if not interactive or percent == state["last"]:
                return
            state["last"] = percent
            filled = percent // 4
            total = f"{job.progress_done}/{job.progress_total or '?'}"
            stream.write(f"\r{label} [{'#' * filled}{'.' * (25 - filled)}] {percent:3d}% {total}")
            if percent >= 100:
                stream.write("\n")
            stream.flush()

        return draw


def is_terminal() -> bool:
    return sys.stdin.isatty()
