"""Writes on segments."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from customers.conditions import Condition, ConditionError, conditions_to_json
from customers.selectors import customers_matching
from customers.services.store_setup import store_event_record
from storefront_crm.errors import ServiceError
from storefront_crm.models import Store

from .models import Segment


@transaction.atomic
def segment_create(*, store: Store, actor: Any, name: str, conditions: list[Condition]) -> Segment:
    """Save ``conditions`` under a name that is new to the store (any letter case)."""
    name = " ".join((name or "").split())[:120]
    if not name:
        raise ServiceError(_("Give the segment a name."), field="name")
    if Segment.objects.filter(store=store, name__iexact=name).exists():
        raise ServiceError(
            _("A segment called “%(name)s” already exists.") % {"name": name}, field="name"
        )
    try:
        customers_matching(store, conditions).query.sql_with_params()  # compiles, or raises
    except ConditionError as error:
        raise ServiceError(str(error), field="conditions") from None
    segment = Segment.objects.create(
        store=store,
        name=name,
        conditions=conditions_to_json(conditions),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    store_event_record(store=store, actor=actor, verb="segment.created", segment=name)
    return segment


@transaction.atomic
def segment_delete(*, store: Store, actor: Any, segment: Segment) -> None:
    """Forget a saved segment; the customers it selected are not touched."""
    if segment.store_id != store.pk:
        raise ServiceError(_("That segment does not exist."))
    name = segment.name
    segment.delete()
    store_event_record(store=store, actor=actor, verb="segment.deleted", segment=name)
