"""CSV import and export in the browser.

Upload → a dry-run job (the preview: detected format, what would be created, updated and
skipped, every problem by row and column) → confirm (optionally another format or "skip
bad rows") → the import job with a live progress bar → summary and error report. Exports
run as jobs ending with a download link. Result files are served here, after the
permission check, never from public media.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from storefront_crm.jobs import job_start
from storefront_crm.models import Job
from storefront_crm.tenancy import can, permission_required

from ..io.exporter import CSV_DIALECTS
from ..io.formats import FORMATS
from ..io.reader import ENCODINGS

KINDS = {"customers.import": "customers.import", "customers.export": "customers.export"}


def _format_choices() -> list[tuple[str, str]]:
    return [("auto", gettext_lazy("Recognise from the header"))] + [
        (name, resource.label) for name, resource in FORMATS.items()
    ]


ON_ERROR_CHOICES = [
    ("abort", gettext_lazy("Import nothing if any row has a problem")),
    ("skip", gettext_lazy("Import the good rows, skip the bad ones")),
]


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"))
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=_format_choices)
    encoding = forms.ChoiceField(
        label=gettext_lazy("Encoding"),
        choices=[("", gettext_lazy("Recognise"))] + list(ENCODINGS.items()),
        required=False,
    )
    tag = forms.CharField(
        label=gettext_lazy("Tag every customer of the file (optional)"),
        help_text=gettext_lazy(
            "A new or existing tag: afterwards it finds exactly these customers, for a filter, "
            "a segment or a bulk action."
        ),
        max_length=100,
        required=False,
    )


class ConfirmForm(forms.Form):
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=_format_choices)
    on_error = forms.ChoiceField(
        label=gettext_lazy("Rows with problems"),
        choices=ON_ERROR_CHOICES,
        widget=forms.RadioSelect,
        initial="abort",
    )


@permission_required("customers.import")
def transfer_index(request: HttpRequest, store_slug: str) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = job_start(
            store=request.store,
            kind="customers.import",
            actor=request.user,
            params={
                "dry_run": True,
                "format": form.cleaned_data["format"],
                "encoding": form.cleaned_data["encoding"] or None,
                "on_error": "abort",
                "source": "browser",
                "tag": form.cleaned_data["tag"].strip(),
            },
            input_file=form.cleaned_data["file"],
        )
        return redirect("panel:customer_transfer_job", store_slug=store_slug, job_id=job.pk)
    recent = Job.objects.filter(kind__in=list(KINDS)).select_related("created_by")
    return render(
        request,
        "customers/io/transfer.html",
        {"form": form, "jobs": recent.order_by("-created_at")[:10]},
    )


def _transfer_job(request: HttpRequest, job_id: int) -> Job:
    job = get_object_or_404(Job, pk=job_id, kind__in=list(KINDS))
    if not can(request, KINDS[job.kind]):
        raise PermissionDenied
    return job


@permission_required("customers.import")
def transfer_job(request: HttpRequest, store_slug: str, job_id: int) -> HttpResponse:
    """A preview, import or export job; htmx polls the partial until it has finished."""
    job = _transfer_job(request, job_id)
    detected = job.params.get("detected_format") or job.params.get("format") or "auto"
    context = {
        "job": job,
        "confirm_form": ConfirmForm(initial={"format": detected, "on_error": "abort"}),
        "is_preview": job.kind == "customers.import" and job.params.get("dry_run"),
    }
    template = "customers/io/_status.html" if request.htmx else "customers/io/job.html"
    return render(request, template, context)


@require_POST
@permission_required("customers.import")
def transfer_confirm(request: HttpRequest, store_slug: str, job_id: int) -> HttpResponse:
    """Run the previewed file for real, with the confirmed format and error handling."""
    preview = _transfer_job(request, job_id)
    if not (preview.kind == "customers.import" and preview.params.get("dry_run")):
        raise Http404
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a format and what to do with bad rows."))
        return redirect("panel:customer_transfer_job", store_slug=store_slug, job_id=job_id)
    with preview.input_file.open("rb") as source:
        job = job_start(
            store=request.store,
            kind="customers.import",
            actor=request.user,
            params={
                "dry_run": False,
                "format": form.cleaned_data["format"],
                "encoding": preview.params.get("encoding"),
                "on_error": form.cleaned_data["on_error"],
                "preview_job": preview.pk,
                "source": "browser",
                "tag": preview.params.get("tag") or "",
            },
            input_file=File(source, name=preview.input_file.name.rsplit("/", 1)[-1]),
        )
    messages.success(request, _("Import started."))
    return redirect("panel:customer_transfer_job", store_slug=store_slug, job_id=job.pk)


@require_POST
@permission_required("customers.export")
def transfer_export(request: HttpRequest, store_slug: str) -> HttpResponse:
    dialect = request.POST.get("dialect", "standard")
    job = job_start(
        store=request.store,
        kind="customers.export",
        actor=request.user,
        params={
            "conditions": [],
            "customer_ids": None,
            "source": "browser",
            "dialect": dialect if dialect in CSV_DIALECTS else "standard",
        },
    )
    return redirect("panel:customer_transfer_job", store_slug=store_slug, job_id=job.pk)


@permission_required("customers.export")
def transfer_download(request: HttpRequest, store_slug: str, job_id: int) -> FileResponse:
    """The export file or the import's error report, for owners and managers only."""
    job = _transfer_job(request, job_id)
    if not job.result_file:
        raise Http404
    name = job.result_file.name.rsplit("/", 1)[-1]
    return FileResponse(
        job.result_file.open("rb"), as_attachment=True, filename=name, content_type="text/csv"
    )


urlpatterns = [
    path("transfer/", transfer_index, name="customer_transfer"),
    path("transfer/export/", transfer_export, name="customer_transfer_export"),
    path("transfer/jobs/<int:job_id>/", transfer_job, name="customer_transfer_job"),
    path("transfer/jobs/<int:job_id>/confirm/", transfer_confirm, name="customer_transfer_confirm"),
    path(
        "transfer/jobs/<int:job_id>/download/",
        transfer_download,
        name="customer_transfer_download",
    ),
]
