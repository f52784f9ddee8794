"""Django's admin, for superusers only, at settings.ADMIN_URL (not /admin/)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from .models import Job, Membership, Store, User

admin.site.site_header = "Storefront CRM operators"


def _superusers_only(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_superuser


admin.site.has_permission = _superusers_only  # type: ignore[method-assign]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "language", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "store", "is_superuser", "is_active"]
    list_filter = ["is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["username", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "email", "password", "full_name", "store"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "password1", "password2"]})]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "store", "kind", "status", "progress_done", "created_at"]
    list_filter = ["status", "kind"]
