"""The base of every store-related management command: ``--store SLUG``, resolved once."""

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from storefront_crm.jobs import job_execute, job_start
from storefront_crm.models import Job, Store
from storefront_crm.tenancy import store_scope

PROBLEMS_SHOWN = 50


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

    def file_job_run(self, *, store: Store, kind: str, file: str, params: dict) -> Job:
        """Run a job on ``file`` here (with a progress bar), as the browser's worker would,
        and return it finished."""
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        with path.open("rb") as source:
            job = job_start(
                store=store,
                kind=kind,
                params={**params, "source": "command"},
                input_file=File(source, name=path.name),
                enqueue=False,
            )
        job = job_execute(job.pk, on_progress=self.progress_printer("Importing"))
        job.refresh_from_db()
        return job

    def job_report(self, job: Job) -> int:
        """Print the job's summary and its first problems; return how many problems it
        found."""
        self.stdout.write(job.message)
        for error in job.errors[:PROBLEMS_SHOWN]:
            self.stdout.write(
                f"  row {error.get('row')}, {error.get('column')}: {error.get('message')}"
            )
        problems = job.counts.get("problems", len(job.errors))
        if problems > min(len(job.errors), PROBLEMS_SHOWN):
            self.stdout.write(f"  … {problems} problems in all")
        return problems

    def export_write(self, output: str | None, export: Callable[..., int]) -> int:
        """Run ``export(out=…)`` into the file ``output``, with a progress bar, or without
        one into standard output as bytes; return what it counted."""
        if output:
            draw = self.progress_printer("Exporting")

            def on_progress(done: int, total: int) -> None:
                percent = 100 if not total else min(100, done * 100 // total)
                draw(SimpleNamespace(percent=percent, progress_done=done, progress_total=total))

            with open(output, "wb") as out:
                return export(out=out, on_progress=on_progress)
        stream = getattr(self.stdout._out, "buffer", None)
        if stream is not None and self.stdout._out is sys.stdout:
            self.stdout._out.flush()
            try:
                count = export(out=stream)
                stream.flush()
            except BrokenPipeError:
                # The reader went away (``| head``): stop with a line, not a traceback, and
                # point stdout at nothing so that Python's exit flush cannot fail again.
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
                raise CommandError(
                    "Export stopped: standard output was closed before it finished.",
                    returncode=141,  # 128 + SIGPIPE, as shell tools report it
                ) from None
            return count
        buffer = io.BytesIO()  # a text stream (call_command(stdout=StringIO()))
        count = export(out=buffer)
        self.stdout._out.write(buffer.getvalue().decode("utf-8"))
        return count

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
