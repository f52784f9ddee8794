"""Tenancy core: users, stores, staff memberships and the job row of long work."""

import zoneinfo
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

TIME_ZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]
CURRENCY_CHOICES = [
    ("EUR", "EUR — Euro"),
    ("USD", "USD — US dollar"),
    ("GBP", "GBP — Pound sterling"),
    ("CHF", "CHF — Swiss franc"),
]


def store_foreign_key(*, checked_through_parent: bool = False) -> "models.ForeignKey[Store, Store]":
    """The ``store`` column of a store-owned model.

    Not indexed on its own: every index and unique constraint of these tables starts with
    it. ``checked_through_parent``: the row's key ``(store_id, parent_id)`` to a parent that
    carries the same store (storefront_crm/db.py) already proves the store exists, so
    PostgreSQL need not check it a second time on every insert (bulk imports feel it).
    """
    return models.ForeignKey(
        "storefront_crm.Store",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=not checked_through_parent,
    )


def store_scoped_manager() -> models.Manager:
    """The manager of every store-owned model: a query without an active store raises."""
    return ScopedManager(store="store")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A login identity.

    Staff are global (``store`` is empty) and reach stores through memberships. A shopper
    identity belongs to exactly one store: the same email at two stores is two identities,
    so the login name is derived from store and email, and it never passes a staff check.
    """

    username = models.CharField(_("login name"), max_length=320, unique=True, editable=False)
    email = models.EmailField(_("email"), max_length=254)
    full_name = models.CharField(_("name"), max_length=150, blank=True)
    store = models.ForeignKey(
        "Store",
        verbose_name=_("shopper of store"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="shopper_identities",
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("may use the operators' admin"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="user_email_lowercase"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_shopper(self) -> bool:
        return self.store_id is not None

    @staticmethod
    def login_name(email: str, store_id: int | None) -> str:
        email = email.strip().lower()
        return email if store_id is None else f"shopper:{store_id}:{email}"

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        self.username = self.login_name(self.email, self.store_id)
        super().save(*args, **kwargs)


class Store(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    currency = models.CharField(
        _("currency"), max_length=3, choices=CURRENCY_CHOICES, default="EUR"
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default="Europe/Berlin"
    )
    contact_email = models.EmailField(_("contact email"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    SUPPORT = "support", _("Support")


class Membership(models.Model):
    """A staff user's role in one store."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        constraints = [
            models.UniqueConstraint(fields=["store", "user"], name="membership_store_user_unique"),
        ]
        # Staff memberships are tenancy metadata (a reference table if stores are ever
        # distributed), looked up by user for the store switcher.
        indexes = [models.Index(fields=["user", "store"], name="membership_user_store_idx")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.store} ({self.role})"

    def has_permission(self, permission: str) -> bool:
        from .tenancy import role_has_permission

        return role_has_permission(self.role, permission)


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Finished")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


def job_file_path(job: "Job", filename: str) -> str:
    return f"jobs/{job.store_id}/{job.pk or 'new'}/{filename}"


class Job(models.Model):
    """Long work (imports, exports, bulk edits, later campaigns): a row a task advances.

    A page polls it for the progress bar; a management command prints the same progress.
    """

    FINISHED = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="jobs", db_index=False)
    kind = models.CharField(_("kind"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    input_file = models.FileField(upload_to=job_file_path, blank=True, max_length=300)
    result_file = models.FileField(upload_to=job_file_path, blank=True, max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Written every few seconds while a worker runs the job: a running job whose heartbeat
    # stopped lost its worker (killed, machine gone) and is started again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        indexes = [
            models.Index(fields=["store", "kind", "-created_at"], name="job_store_kind_idx"),
            # jobs_recover looks for running jobs of every store each minute: only those.
            models.Index(
                fields=["heartbeat_at"],
                condition=models.Q(status="running"),
                name="job_running_heartbeat_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def kind_label(self) -> str:
        """The kind as pages name it ("Customer import"), from the handler's registration."""
        from .jobs import job_kind_label  # the registry lives with the job runner

        return job_kind_label(self.kind)

    @property
    def counts_labelled(self) -> list[tuple[str, Any]]:
        from .jobs import job_counts_labelled

        return job_counts_labelled(self.kind, self.counts)

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.is_finished else 0
        return min(100, int(Decimal(self.progress_done) * 100 / self.progress_total))
