"""Groups, tags and custom-field settings pages.

Everyone who sees customers sees these pages; changing them needs ``customers.groups``,
``customers.manage_tags`` or ``customers.fields`` (owner and manager). Every id in a URL is
looked up inside the store's scope, so another store's id is a 404.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from storefront_crm.errors import ServiceError
from storefront_crm.tenancy import can, permission_required

from ..forms_setup import CustomFieldForm, GroupForm, TagMergeForm, TagNameForm
from ..models import Customer, CustomerGroup, CustomerTag, CustomField, GroupKind
from ..selectors_setup import (
    custom_field_values_count,
    custom_fields_of,
    default_group_names,
    groups_with_member_counts,
    tags_with_customer_counts,
)
from ..services.custom_fields import (
    custom_field_create,
    custom_field_delete_request,
    custom_field_move,
    custom_field_update,
)
from ..services.groups import discount_display, group_create, group_delete_request, group_update
from ..services.tags import TagNameTaken, tag_create, tag_delete, tag_merge, tag_rename

# --- Groups ---------------------------------------------------------------------------


def _groups_page(request: HttpRequest, form: GroupForm | None = None) -> HttpResponse:
    groups = list(groups_with_member_counts(store=request.store))
    for group in groups:
        group.discount_display = discount_display(group.discount_percent)
    # The defaults as the store named them (they can be renamed), from the rows at hand.
    defaults = {group.kind: group.name for group in groups if group.is_default}
    return render(
        request,
        "customers/setup/groups.html",
        {
            "groups": groups,
            "guests_name": defaults.get(GroupKind.GUESTS, GroupKind.GUESTS.label),
            "standard_name": defaults.get(GroupKind.STANDARD, GroupKind.STANDARD.label),
            "form": form or GroupForm(),
            "can_edit": can(request, "customers.groups"),
        },
        status=400 if form is not None else 200,
    )


@permission_required("customers.view")
def group_index(request: HttpRequest, store_slug: str) -> HttpResponse:
    return _groups_page(request)


@require_POST
@permission_required("customers.groups")
def group_new(request: HttpRequest, store_slug: str) -> HttpResponse:
    form = GroupForm(request.POST)
    if form.is_valid():
        try:
            group = group_create(store=request.store, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Group “%(name)s” added.") % {"name": group.name})
            return redirect("panel:customer_groups", store_slug=store_slug)
    return _groups_page(request, form)


@permission_required("customers.groups")
def group_edit(request: HttpRequest, store_slug: str, group_id: int) -> HttpResponse:
    group = get_object_or_404(CustomerGroup, pk=group_id)
    form = GroupForm(
        request.POST or None,
        initial={"name": group.name, "discount_percent": group.discount_percent},
    )
    if request.method == "POST" and form.is_valid():
        try:
            group_update(store=request.store, actor=request.user, group=group, **form.cleaned_data)
        except ServiceError as error:
            form.add_service_error(error)
            group.refresh_from_db()  # the refused change may have reached the instance
        else:
            messages.success(request, _("Group “%(name)s” saved.") % {"name": group.name})
            return redirect("panel:customer_groups", store_slug=store_slug)
    return render(
        request,
        "customers/setup/group_edit.html",
        {"group": group, "form": form},
        status=400 if form.errors else 200,
    )


@permission_required("customers.groups")
def group_remove(request: HttpRequest, store_slug: str, group_id: int) -> HttpResponse:
    group = get_object_or_404(CustomerGroup, pk=group_id)
    if request.method == "POST":
        name = group.name
        try:
            job = group_delete_request(store=request.store, actor=request.user, group=group)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            if job is not None:
                messages.info(
                    request,
                    _("Group “%(name)s” has many members: it is being deleted in the background.")
                    % {"name": name},
                )
                return redirect("panel:job", store_slug=store_slug, job_id=job.pk)
            messages.success(
                request,
                _("Group “%(name)s” deleted; its members moved to “%(standard)s”.")
                % {
                    "name": name,
                    "standard": default_group_names(store=request.store)[GroupKind.STANDARD],
                },
            )
        return redirect("panel:customer_groups", store_slug=store_slug)
    return render(
        request,
        "customers/setup/group_delete.html",
        {
            "group": group,
            "member_count": Customer.objects.filter(store=request.store, group=group).count(),
            "standard_name": default_group_names(store=request.store)[GroupKind.STANDARD],
        },
    )


# --- Tags -----------------------------------------------------------------------------


def _tags_page(request: HttpRequest, form: TagNameForm | None = None) -> HttpResponse:
    tags = list(tags_with_customer_counts(store=request.store))
    return render(
        request,
        "customers/setup/tags.html",
        {
            "tags": tags,
            "tag_limit": settings.STOREFRONT_MAX_TAGS_PER_STORE,
            "at_limit": len(tags) >= settings.STOREFRONT_MAX_TAGS_PER_STORE,
            "form": form or TagNameForm(),
            "can_edit": can(request, "customers.manage_tags"),
        },
        status=400 if form is not None else 200,
    )


@permission_required("customers.view")
def tag_index(request: HttpRequest, store_slug: str) -> HttpResponse:
    return _tags_page(request)


@require_POST
@permission_required("customers.manage_tags")
def tag_new(request: HttpRequest, store_slug: str) -> HttpResponse:
    form = TagNameForm(request.POST)
    if form.is_valid():
        try:
            tag = tag_create(store=request.store, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Tag “%(name)s” added.") % {"name": tag.name})
            return redirect("panel:customer_tags", store_slug=store_slug)
    return _tags_page(request, form)


def _tag_page(
    request: HttpRequest,
    tag: CustomerTag,
    rename_form: TagNameForm | None = None,
    merge_form: TagMergeForm | None = None,
) -> HttpResponse:
    targets = CustomerTag.objects.filter(store=request.store).exclude(pk=tag.pk).order_by("name")
    return render(
        request,
        "customers/setup/tag_edit.html",
        {
            "tag": tag,
            "customer_count": tag.tagged_items.count(),
            "rename_form": rename_form or TagNameForm(initial={"name": tag.name}),
            "merge_form": merge_form or TagMergeForm(targets=targets),
        },
        status=400 if (rename_form or merge_form) else 200,
    )


@permission_required("customers.manage_tags")
def tag_edit(request: HttpRequest, store_slug: str, tag_id: int) -> HttpResponse:
    tag = get_object_or_404(CustomerTag, pk=tag_id)
    if request.method != "POST":
        return _tag_page(request, tag)
    form = TagNameForm(request.POST)
    merge_form = None
    if form.is_valid():
        try:
            tag_rename(store=request.store, actor=request.user, tag=tag, **form.cleaned_data)
        except TagNameTaken as error:
            form.add_service_error(error)
            # Offer the merge the message suggests, with the other tag already chosen.
            merge_form = TagMergeForm(
                initial={"target": error.details["other"]},
                targets=CustomerTag.objects.filter(store=request.store).exclude(pk=tag.pk),
            )
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Tag renamed to “%(name)s”.") % {"name": tag.name})
            return redirect("panel:customer_tags", store_slug=store_slug)
    return _tag_page(request, tag, rename_form=form, merge_form=merge_form)


@require_POST
@permission_required("customers.manage_tags")
def tag_merge_into(request: HttpRequest, store_slug: str, tag_id: int) -> HttpResponse:
    tag = get_object_or_404(CustomerTag, pk=tag_id)
    targets = CustomerTag.objects.filter(store=request.store).exclude(pk=tag.pk)
    form = TagMergeForm(request.POST, targets=targets)
    if form.is_valid():
        target = form.cleaned_data["target"]
        try:
            moved = tag_merge(store=request.store, actor=request.user, source=tag, target=target)
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                ngettext(
                    "“%(source)s” merged into “%(target)s”: %(count)d customer gained the tag.",
                    "“%(source)s” merged into “%(target)s”: %(count)d customers gained the tag.",
                    moved,
                )
                % {"source": tag.name, "target": target.name, "count": moved},
            )
            return redirect("panel:customer_tags", store_slug=store_slug)
    return _tag_page(request, tag, merge_form=form)


@permission_required("customers.manage_tags")
def tag_remove(request: HttpRequest, store_slug: str, tag_id: int) -> HttpResponse:
    tag = get_object_or_404(CustomerTag, pk=tag_id)
    if request.method == "POST":
        removed = tag_delete(store=request.store, actor=request.user, tag=tag)
        messages.success(
            request,
            ngettext(
                "Tag “%(name)s” deleted and taken off %(count)d customer.",
                "Tag “%(name)s” deleted and taken off %(count)d customers.",
                removed,
            )
            % {"name": tag.name, "count": removed},
        )
        return redirect("panel:customer_tags", store_slug=store_slug)
    return render(
        request,
        "customers/setup/tag_delete.html",
        {"tag": tag, "customer_count": tag.tagged_items.count()},
    )


# --- Custom fields --------------------------------------------------------------------


def _fields_page(request: HttpRequest, form: CustomFieldForm | None = None) -> HttpResponse:
    return render(
        request,
        "customers/setup/fields.html",
        {
            "fields": list(custom_fields_of(store=request.store)),
            "form": form or CustomFieldForm(),
            "can_edit": can(request, "customers.fields"),
        },
        status=400 if form is not None else 200,
    )


@permission_required("customers.view")
def field_index(request: HttpRequest, store_slug: str) -> HttpResponse:
    return _fields_page(request)


@require_POST
@permission_required("customers.fields")
def field_new(request: HttpRequest, store_slug: str) -> HttpResponse:
    form = CustomFieldForm(request.POST)
    if form.is_valid():
        try:
            field = custom_field_create(
                store=request.store, actor=request.user, **form.cleaned_data
            )
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Field “%(label)s” added.") % {"label": field.label})
            return redirect("panel:custom_fields", store_slug=store_slug)
    return _fields_page(request, form)


@permission_required("customers.fields")
def field_edit(request: HttpRequest, store_slug: str, field_id: int) -> HttpResponse:
    field = get_object_or_404(CustomField, pk=field_id)
    values_count = custom_field_values_count(store=request.store, field=field)
    form = CustomFieldForm(
        request.POST or None,
        initial=CustomFieldForm.initial_for(field),
        type_locked=values_count > 0,
    )
    if request.method == "POST" and form.is_valid():
        try:
            custom_field_update(
                store=request.store, actor=request.user, field=field, **form.cleaned_data
            )
        except ServiceError as error:
            form.add_service_error(error)
            field.refresh_from_db()
        else:
            messages.success(request, _("Field “%(label)s” saved.") % {"label": field.label})
            return redirect("panel:custom_fields", store_slug=store_slug)
    return render(
        request,
        "customers/setup/field_edit.html",
        {"field": field, "form": form, "values_count": values_count},
        status=400 if form.errors else 200,
    )


@require_POST
@permission_required("customers.fields")
def field_move(request: HttpRequest, store_slug: str, field_id: int) -> HttpResponse:
    field = get_object_or_404(CustomField, pk=field_id)
    offset = -1 if request.POST.get("direction") == "up" else 1
    custom_field_move(store=request.store, actor=request.user, field=field, offset=offset)
    return redirect("panel:custom_fields", store_slug=store_slug)


@permission_required("customers.fields")
def field_remove(request: HttpRequest, store_slug: str, field_id: int) -> HttpResponse:
    field = get_object_or_404(CustomField, pk=field_id)
    if request.method == "POST":
        label = field.label
        job = custom_field_delete_request(store=request.store, actor=request.user, field=field)
        if job is not None:
            messages.info(
                request,
                _("Field “%(label)s” has many values: it is being deleted in the background.")
                % {"label": label},
            )
            return redirect("panel:job", store_slug=store_slug, job_id=job.pk)
        messages.success(
            request,
            _("Field “%(label)s” deleted and its value removed from every customer.")
            % {"label": label},
        )
        return redirect("panel:custom_fields", store_slug=store_slug)
    return render(
        request,
        "customers/setup/field_delete.html",
        {
            "field": field,
            "values_count": custom_field_values_count(store=request.store, field=field),
        },
    )


urlpatterns = [
    path("groups/", group_index, name="customer_groups"),
    path("groups/new/", group_new, name="customer_group_create"),
    path("groups/<int:group_id>/", group_edit, name="customer_group"),
    path("groups/<int:group_id>/delete/", group_remove, name="customer_group_delete"),
    path("tags/", tag_index, name="customer_tags"),
    path("tags/new/", tag_new, name="customer_tag_create"),
    path("tags/<int:tag_id>/", tag_edit, name="customer_tag"),
    path("tags/<int:tag_id>/merge/", tag_merge_into, name="customer_tag_merge"),
    path("tags/<int:tag_id>/delete/", tag_remove, name="customer_tag_delete"),
    path("fields/", field_index, name="custom_fields"),
    path("fields/new/", field_new, name="custom_field_create"),
    path("fields/<int:field_id>/", field_edit, name="custom_field"),
    path("fields/<int:field_id>/move/", field_move, name="custom_field_move"),
    path("fields/<int:field_id>/delete/", field_remove, name="custom_field_delete"),
]
