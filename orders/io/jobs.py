"""The order import and export jobs (``orders.import``, ``orders.export``).

Registered from ``OrdersConfig.ready``. The export runs in a Celery worker for the
browser's Export buttons and ends on the job page with a download link (the result file
needs ``orders.export``); the import runs in-process for ``manage.py import_orders``.
"""

import logging
import tempfile
from datetime import date

from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.services.activity import activity_record
from storefront_crm.errors import ServiceError
from storefront_crm.jobs import JobContext, JobFailed, job_handler

from .exporter import ordered_products_export, orders_export
from .importer import import_summary_lines, orders_import

logger = logging.getLogger(__name__)

EXPORTS = ("orders", "products")


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@job_handler(
    "orders.import",
    label=gettext_lazy("Order import"),
    count_labels={
        "orders": gettext_lazy("Orders"),
        "items": gettext_lazy("Order items"),
        "customers_created": gettext_lazy("Customers created"),
    },
    result_permission="orders.export",
)
def orders_import_job(ctx: JobContext) -> str:
    """Params: ``dry_run``, ``encoding`` (None: detect). The file is the job's input."""
    job, params = ctx.job, ctx.params
    try:
        with job.input_file.open("rb") as source:
            result = orders_import(
                store=ctx.store,
                source=source,
                dry_run=bool(params.get("dry_run")),
                actor=job.created_by,
                encoding=params.get("encoding") or None,
                on_progress=lambda done, total, counts: ctx.progress(done, total, **counts),
            )
    except ServiceError as problem:
        raise JobFailed(problem.message) from None
    except Exception as error:
        logger.exception("Order import job %s stopped", job.pk)
        # The orders of a file are written in one transaction: nothing of it stays.
        raise JobFailed(
            _("The import stopped on an error (%(error)s); nothing was imported.")
            % {"error": error}
        ) from error
    ctx.progress(job.progress_total or 0, None, **result.counts())
    if result.errors:
        ctx.add_errors(result.errors)
    job.params = {
        **job.params,
        "encoding": result.encoding,
        "delimiter": result.delimiter,
        "reasons": result.reasons,
        "ignored_columns": result.ignored_columns,
    }
    job.save(update_fields=["params"])
    summary = "\n".join(import_summary_lines(result))
    if result.failed:
        raise JobFailed(summary)
    if not params.get("dry_run"):
        activity_record(
            store=ctx.store,
            customer=None,
            actor=job.created_by,
            verb="orders.imported",
            job=job.pk,
            **result.counts(),
        )
    return summary


@job_handler("orders.export", label=gettext_lazy("Order export"), result_permission="orders.export")
def orders_export_job(ctx: JobContext) -> str:
    """Params: ``what`` (``orders``: one row per item; ``products``: the ordered
    products), ``date_from`` / ``date_to`` (ISO dates, the store's calendar, inclusive),
    ``status`` (orders only). The file is the job's result."""
    params = ctx.params
    what = params.get("what") or "orders"
    if what not in EXPORTS:
        raise JobFailed(_("Unknown export “%(what)s”.") % {"what": what})
    try:
        date_from, date_to = _date(params.get("date_from")), _date(params.get("date_to"))
    except ValueError:
        raise JobFailed(_("The dates of the export are not valid.")) from None
    day = timezone.localdate()
    name = f"{'orders' if what == 'orders' else 'ordered-products'}-{ctx.store.slug}-{day}.csv"
    with tempfile.TemporaryFile() as out:
        if what == "orders":
            count = orders_export(
                store=ctx.store,
                out=out,
                date_from=date_from,
                date_to=date_to,
                status=params.get("status") or None,
                on_progress=lambda done, total: ctx.progress(done, total),
            )
            message = _("%(count)d orders exported.") % {"count": count}
        else:
            count = ordered_products_export(
                store=ctx.store,
                out=out,
                date_from=date_from,
                date_to=date_to,
                on_progress=lambda done, total: ctx.progress(done, total),
            )
            message = _("%(count)d ordered products exported.") % {"count": count}
        out.seek(0)
        ctx.save_result(name, File(out, name=name))
    ctx.progress(count, count, exported=count)
    activity_record(
        store=ctx.store,
        customer=None,
        actor=ctx.job.created_by,
        verb="orders.exported",
        what=what,
        count=count,
        date_from=params.get("date_from"),
        date_to=params.get("date_to"),
        via=params.get("source") or "job",
        job=ctx.job.pk,
    )
    return message
