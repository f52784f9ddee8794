"""Saved segments: a named list of conditions of the customer condition engine."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from storefront_crm.models import store_foreign_key, store_scoped_manager


class Segment(models.Model):
    """Customers that match ``conditions`` (``customers.conditions`` JSON), evaluated live."""

    store = store_foreign_key()
    name = models.CharField(_("name"), max_length=120)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = store_scoped_manager()

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("store", Lower("name"), name="segment_store_name_unique"),
        ]
        indexes = [models.Index(fields=["store", "-created_at"], name="segment_store_created_idx")]

    def __str__(self) -> str:
        return self.name
