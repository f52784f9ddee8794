"""Sign-in, the store switcher, the panel's home, store settings, staff and jobs."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .errors import ServiceError
from .forms import StaffAddForm, StaffLoginForm, StoreSettingsForm
from .jobs import job_result_permission
from .models import Job, Membership
from .services import membership_remove, membership_set
from .tenancy import can, permission_required, stores_of


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = True


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Straight into the only (or last used) store; otherwise the list of stores."""
    memberships = stores_of(request.user)
    slugs = {m.store.slug for m in memberships}
    last = request.session.get("last_store")
    if last in slugs:
        return redirect("panel:dashboard", store_slug=last)
    if len(memberships) == 1:
        return redirect("panel:dashboard", store_slug=memberships[0].store.slug)
    return render(request, "storefront_crm/store_picker.html", {"memberships": memberships})


def health(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@permission_required("store.settings")
def store_settings(request: HttpRequest, store_slug: str) -> HttpResponse:
    form = StoreSettingsForm(request.POST or None, instance=request.store)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Store settings saved."))
        return redirect("panel:settings", store_slug=store_slug)
    return render(request, "storefront_crm/settings.html", {"form": form})


@permission_required("staff.manage")
def staff_list(request: HttpRequest, store_slug: str) -> HttpResponse:
    form = StaffAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership_set(store=request.store, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Staff member saved."))
            return redirect("panel:staff", store_slug=store_slug)
    memberships = (
        Membership.objects.filter(store=request.store)
        .select_related("user")
        .order_by("user__email")
    )
    return render(request, "storefront_crm/staff.html", {"form": form, "memberships": memberships})


@require_POST
@permission_required("staff.manage")
def staff_remove(request: HttpRequest, store_slug: str, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership, store=request.store, pk=membership_id)
    try:
        membership_remove(store=request.store, actor=request.user, membership=membership)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Staff member removed."))
    return redirect("panel:staff", store_slug=store_slug)


@permission_required("jobs.view")
def job_detail(request: HttpRequest, store_slug: str, job_id: int) -> HttpResponse:
    """A job's progress; htmx polls the partial until the job has finished."""
    job = get_object_or_404(Job, pk=job_id)
    template = (
        "storefront_crm/_job_progress.html" if request.htmx else "storefront_crm/job_detail.html"
    )
    return render(request, template, {"job": job})


@permission_required("jobs.view")
def job_download(request: HttpRequest, store_slug: str, job_id: int) -> FileResponse:
    """A job's result file (an export, an error report), for roles allowed that kind's data.

    Result files are never served as public media: their paths could be guessed."""
    job = get_object_or_404(Job, pk=job_id)
    if not job.result_file:
        raise Http404("This job has no result file.")
    if not can(request, job_result_permission(job.kind)):
        raise PermissionDenied(_("Your role cannot download this file."))
    name = job.result_file.name.rsplit("/", 1)[-1]
    return FileResponse(job.result_file.open("rb"), as_attachment=True, filename=name)


@permission_required("jobs.view")
def job_list(request: HttpRequest, store_slug: str) -> HttpResponse:
    jobs = Job.objects.select_related("created_by").order_by("-created_at")[:50]
    return render(request, "storefront_crm/job_list.html", {"jobs": jobs})


@permission_required("panel.view")
def coming_later(request: HttpRequest, store_slug: str, section: str) -> HttpResponse:
    """Sections whose features arrive with later issues show an honest empty state."""
    return render(request, "storefront_crm/section_empty.html", {"section": section})
