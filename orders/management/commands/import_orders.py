"""``manage.py import_orders --store SLUG FILE [--dry-run]``"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from storefront_crm.management.base import StoreCommand
from storefront_crm.models import JobStatus


class Command(StoreCommand):
    help = (
        "Import orders from a native order CSV (one row per item, the order's columns "
        "repeated; the format export_orders writes). All or nothing: any problem and "
        "nothing is written. Existing order numbers are skipped; the store's numbering "
        "continues after the highest imported number."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file", metavar="FILE")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )
        parser.add_argument(
            "--encoding", default=None, help="e.g. cp1252 or latin-1 (default: detect)"
        )

    def handle(self, *args: Any, store: Any, file: str, **options: Any) -> None:
        job = self.file_job_run(
            store=store,
            kind="orders.import",
            file=file,
            params={"dry_run": options["dry_run"], "encoding": options["encoding"]},
        )
        self.stdout.write(
            f"Encoding: {job.params.get('encoding', '?')}, "
            f"separator: {job.params.get('delimiter', '?')!r}"
        )
        if self.job_report(job) or job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Order import job #{job.pk} finished with problems.")
