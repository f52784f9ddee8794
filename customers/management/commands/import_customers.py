"""``manage.py import_customers --store SLUG FILE [--format …] [--dry-run] [--on-error …]
[--tag NAME]``"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from customers.io.formats import FORMATS
from storefront_crm.management.base import StoreCommand
from storefront_crm.models import JobStatus


class Command(StoreCommand):
    help = (
        "Import customers from a CSV file (native, ecwid, shopify, squarespace, woocommerce; "
        "auto-detected by header). Upserts by email within the store."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS])
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )
        parser.add_argument(
            "--on-error",
            default="abort",
            choices=["skip", "abort"],
            help="abort: write nothing when any row is bad (default); skip: import the good rows",
        )
        parser.add_argument(
            "--encoding", default=None, help="e.g. cp1252 or latin-1 (default: detect)"
        )
        parser.add_argument(
            "--tag",
            default="",
            help="a tag (new or existing) for every customer of the file",
        )

    def handle(self, *args: Any, store: Any, file: str, **options: Any) -> None:
        job = self.file_job_run(
            store=store,
            kind="customers.import",
            file=file,
            params={
                "format": options["format"],
                "dry_run": options["dry_run"],
                "on_error": options["on_error"],
                "encoding": options["encoding"],
                "tag": options["tag"],
            },
        )
        self.stdout.write(
            f"Format: {job.params.get('detected_format', options['format'])}, "
            f"encoding: {job.params.get('encoding', '?')}, "
            f"separator: {job.params.get('delimiter', '?')!r}"
        )
        self.job_report(job)
        if job.status != JobStatus.SUCCEEDED or job.counts.get("problems"):
            raise CommandError(f"Import job #{job.pk} finished with problems.")
