"""The activity log: every service records what it changed, who did it and when."""

import datetime
from typing import Any

from django.utils import timezone

from storefront_crm.models import Store

from ..models import (
    ActivityEvent,
    Customer,
)


def activity_record(
    *,
    store: Store,
    customer: Customer | None,
    actor: Any,
    verb: str,
    at: datetime.datetime | None = None,
    **data: Any,
) -> ActivityEvent:
    """Log what happened; ``at`` for an event that happened before it is recorded (an
    order placed in the past, entered now)."""
    return ActivityEvent.objects.create(
        store=store,
        customer=customer,
        verb=verb,
        data=data,
        actor=actor if getattr(actor, "pk", None) else None,
        created_at=at or timezone.now(),
    )
