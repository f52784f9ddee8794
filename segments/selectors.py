"""Reads on segments."""

from dataclasses import dataclass

from django.db.models import QuerySet

from customers.conditions import Condition, ConditionError, conditions_from_json
from customers.models import Customer
from customers.selectors import CountHint, customer_count_hint, customers_matching
from storefront_crm.models import Store

from .models import Segment


def segment_queryset(segment: Segment) -> QuerySet[Customer]:
    """The customers of the segment's store that match its conditions right now."""
    return customers_matching(segment.store, conditions_from_json(segment.conditions))


@dataclass
class SegmentSummary:
    segment: Segment
    # Both None when its conditions no longer compile (a removed field).
    conditions: list[Condition] | None
    count: CountHint | None


# The segments page counts each segment (a bounded count, or the planner's estimate): one
# query per segment, so the page shows the newest this many.
SEGMENTS_SHOWN = 100


def segment_summaries(*, store: Store) -> list[SegmentSummary]:
    """The store's segments by name, each with how many customers it matches now."""
    summaries = []
    segments = Segment.objects.filter(store=store).select_related("created_by")
    newest = segments.order_by("-created_at")[:SEGMENTS_SHOWN]
    for segment in sorted(newest, key=lambda segment: segment.name.lower()):
        try:
            conditions = conditions_from_json(segment.conditions)
            count = customer_count_hint(customers_matching(store, conditions))
        except ConditionError:
            summaries.append(SegmentSummary(segment, None, None))
        else:
            summaries.append(SegmentSummary(segment, conditions, count))
    return summaries
