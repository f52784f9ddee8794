"""The one Celery app; settings come from Django's CELERY_* settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront_crm.settings")

app = Celery("storefront_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
