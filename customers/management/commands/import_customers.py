"""``manage.py import_customers --store SLUG FILE [--format …] [--dry-run] [--on-error …]``"""

from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import CommandError, CommandParser

from customers.io.formats import FORMATS
from storefront_crm.jobs import job_execute, job_start
from storefront_crm.management.base import StoreCommand
from storefront_crm.models import JobStatus

PROBLEMS_SHOWN = 50


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

    def handle(self, *args: Any, store: Any, file: str, **options: Any) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        params = {
            "format": options["format"],
            "dry_run": options["dry_run"],
            "on_error": options["on_error"],
            "encoding": options["encoding"],
            "source": "command",
        }
        with path.open("rb") as source:
            job = job_start(
                store=store,
                kind="customers.import",
                params=params,
                input_file=File(source, name=path.name),
                enqueue=False,
            )
        job = job_execute(job.pk, on_progress=self.progress_printer("Importing"))
        job.refresh_from_db()
        counts = job.counts
        self.stdout.write(
            f"Format: {job.params.get('detected_format', options['format'])}, "
            f"encoding: {job.params.get('encoding', '?')}, "
            f"separator: {job.params.get('delimiter', '?')!r}"
        )
        self.stdout.write(job.message)
        for error in job.errors[:PROBLEMS_SHOWN]:
            self.stdout.write(
                f"  row {error.get('row')}, {error.get('column')}: {error.get('message')}"
            )
        if len(job.errors) > PROBLEMS_SHOWN or counts.get("problems", 0) > len(job.errors):
            self.stdout.write(f"  … {counts.get('problems', len(job.errors))} problems in all")
        if job.status != JobStatus.SUCCEEDED or counts.get("problems"):
            raise CommandError(f"Import job #{job.pk} finished with problems.")
