"""The import and export jobs (``customers.import``, ``customers.export``).

Registered from ``CustomersConfig.ready``. Both run in a Celery worker for the browser
and in-process for the management commands (``job_execute`` with a progress printer).
"""

import logging
import tempfile
from typing import Any

from django.core.files import File
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.jobs import JobContext, JobFailed, job_handler
from storefront_crm.models import Job, Store

from ..models import Customer, CustomerTag
from ..services.activity import activity_record
from .exporter import CSV_DIALECTS, customers_export
from .importer import ImportOptions, ImportResult, customers_import, import_summary_lines

logger = logging.getLogger(__name__)


def _record(job: Job, **changes: Any) -> None:
    Job.objects.filter(pk=job.pk).update(**changes)
    for name, value in changes.items():
        setattr(job, name, value)


@job_handler(
    "customers.import",
    label=gettext_lazy("Customer import"),
    count_labels={
        "committed_batches": gettext_lazy("Batches saved"),
        "committed_up_to_row": gettext_lazy("Saved up to row"),
    },
    result_permission="customers.import",
)
def customers_import_job(ctx: JobContext) -> str:
    """Params: ``format`` (auto/native/…), ``dry_run``, ``on_error`` (abort/skip),
    ``encoding`` (None: detect), ``tag`` (for every customer of the file; optional). The
    input file is the job's ``input_file``."""
    job, params = ctx.job, ctx.params
    options = ImportOptions(
        format_name=params.get("format") or "auto",
        dry_run=bool(params.get("dry_run")),
        on_error=params.get("on_error") or "abort",
        encoding=params.get("encoding") or None,
        actor=job.created_by,
        job_id=job.pk,
        tag=params.get("tag") or "",
    )
    committed: dict[str, int] = {"batches": 0, "rows": 0}

    def on_batch_commit(result: ImportResult) -> None:
        # Runs inside the batch's transaction: the job row says exactly what committed.
        committed.update(batches=result.committed_batches, rows=result.committed_rows)
        counts = {
            **job.counts,
            "committed_batches": result.committed_batches,
            "committed_up_to_row": result.committed_rows,
        }
        _record(job, counts=counts)

    def on_progress(done: int, total: int, counts: dict[str, int]) -> None:
        ctx.progress(done, total, **counts)

    try:
        with job.input_file.open("rb") as source:
            result, report = customers_import(
                store=ctx.store,
                source=source,
                options=options,
                on_progress=on_progress,
                on_batch_commit=on_batch_commit,
            )
    except ServiceError as problem:
        raise JobFailed(problem.message) from None
    except Exception as error:
        logger.exception("Import job %s stopped", job.pk)
        if committed["batches"]:
            raise JobFailed(
                _(
                    "The import stopped on an error (%(error)s) after %(batches)d committed "
                    "batch(es): rows up to row %(row)d are imported, the rows after it are "
                    "not. Import the file again to finish; imported rows are then unchanged."
                )
                % {"error": error, "batches": committed["batches"], "row": committed["rows"]}
            ) from error
        raise JobFailed(
            _("The import stopped on an error (%(error)s); nothing was imported.")
            % {"error": error}
        ) from error
    _record(
        job,
        params={
            **job.params,
            "detected_format": result.format_name,
            "encoding": result.encoding,
            "delimiter": result.delimiter,
            "preview": result.preview,
            "ignored_columns": result.ignored_columns,
            "new_groups": result.new_groups,
            "new_custom_fields": result.new_custom_fields,
            "reasons": result.reasons,
            # The list of exactly the file's customers is this tag's (once written).
            "tag_id": CustomerTag.objects.filter(store=ctx.store, name__iexact=result.tag)
            .values_list("pk", flat=True)
            .first()
            if result.tag and result.written
            else None,
        },
    )
    ctx.progress(
        job.progress_total or 0,
        None,
        **result.counts(),
        problems=result.error_count,
    )
    if result.errors:
        ctx.add_errors(result.errors)
        name = f"import-problems-{job.pk}.csv"
        with report:
            ctx.save_result(name, File(report, name=name))
    summary = "\n".join(import_summary_lines(result, dry_run=options.dry_run))
    if result.failed and options.on_error == "abort" and not options.dry_run:
        raise JobFailed(
            _("Nothing was imported: %(count)d problem(s) in the file (import stops on any).")
            % {"count": result.error_count}
            + "\n"
            + summary
        )
    return summary


def export_selection(store: Store, params: dict[str, Any]) -> QuerySet[Customer] | None:
    """Which customers an export covers: given ids, a condition list, a segment, or all."""
    customers = Customer.objects.filter(store=store)
    if params.get("customer_ids") is not None:
        return customers.filter(pk__in=params["customer_ids"])
    if params.get("segment_id") is not None:
        return segment_customers(store, params["segment_id"])
    if params.get("conditions"):
        from .. import selectors

        matching = getattr(selectors, "customers_matching", None)
        if matching is None:
            raise JobFailed(_("Filtering customers by conditions is not available yet."))
        return matching(store, params["conditions"])
    return None


def segment_customers(store: Store, segment_id: Any) -> QuerySet[Customer]:
    """The customers of a saved segment (loaded lazily: customers never imports segments)."""
    from django.apps import apps

    try:
        Segment = apps.get_model("segments", "Segment")
    except LookupError:
        raise ServiceError(_("Segments are not available in this installation.")) from None
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise ServiceError(_("There is no segment %(id)s in this store.") % {"id": segment_id})
    from ..selectors import customers_matching

    return customers_matching(store, segment.conditions)


@job_handler(
    "customers.export",
    label=gettext_lazy("Customer export"),
    count_labels={"exported": gettext_lazy("Exported")},
    result_permission="customers.export",
)
def customers_export_job(ctx: JobContext) -> str:
    """Params: ``customer_ids`` (a list, or None), ``conditions`` (a condition list) or
    ``segment_id``; none of them exports the whole store. ``dialect``: a name of
    ``CSV_DIALECTS`` (standard by default). The file is the job's result."""
    try:
        selection = export_selection(ctx.store, ctx.params)
    except ServiceError as problem:
        raise JobFailed(problem.message) from None
    name = f"customers-{ctx.store.slug}-{timezone.localdate():%Y-%m-%d}.csv"
    with tempfile.TemporaryFile() as out:
        count = customers_export(
            store=ctx.store,
            out=out,
            selection=selection,
            on_progress=lambda done, total: ctx.progress(done, total),
            dialect=CSV_DIALECTS.get(ctx.params.get("dialect") or "", CSV_DIALECTS["standard"]),
        )
        out.seek(0)
        ctx.save_result(name, File(out, name=name))
    ctx.progress(count, count, exported=count)
    params = ctx.params
    activity_record(
        store=ctx.store,
        customer=None,
        actor=ctx.job.created_by,
        verb="customers.exported",
        count=count,
        segment=params.get("segment_id"),
        selection=bool(params.get("customer_ids") or params.get("conditions")),
        via=params.get("source") or "job",
        job=ctx.job.pk,
    )
    return ngettext("%(count)d customer exported.", "%(count)d customers exported.", count) % {
        "count": count
    }
