"""``manage.py import_orders --store SLUG FILE [--dry-run]``"""

from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import CommandError, CommandParser

from storefront_crm.jobs import job_execute, job_start
from storefront_crm.management.base import StoreCommand
from storefront_crm.models import JobStatus

PROBLEMS_SHOWN = 50


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
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        params = {
            "dry_run": options["dry_run"],
            "encoding": options["encoding"],
            "source": "command",
        }
        with path.open("rb") as source:
            job = job_start(
                store=store,
                kind="orders.import",
                params=params,
                input_file=File(source, name=path.name),
                enqueue=False,
            )
        job = job_execute(job.pk, on_progress=self.progress_printer("Importing"))
        job.refresh_from_db()
        self.stdout.write(
            f"Encoding: {job.params.get('encoding', '?')}, "
            f"separator: {job.params.get('delimiter', '?')!r}"
        )
        self.stdout.write(job.message)
        for error in job.errors[:PROBLEMS_SHOWN]:
            self.stdout.write(
                f"  row {error.get('row')}, {error.get('column')}: {error.get('message')}"
            )
        problems = job.counts.get("problems", len(job.errors))
        if problems > min(len(job.errors), PROBLEMS_SHOWN):
            self.stdout.write(f"  … {problems} problems in all")
        if job.status != JobStatus.SUCCEEDED or problems:
            raise CommandError(f"Order import job #{job.pk} finished with problems.")
