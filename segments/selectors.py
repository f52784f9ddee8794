"""Reads on segments."""

from dataclasses import dataclass

from django.db.models import QuerySet

from customers.conditions import ConditionError, conditions_from_json
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
    count: CountHint | None  # None: its conditions no longer compile (a removed field)


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
            customers = customers_matching(store, conditions_from_json(segment.conditions))
            count: CountHint | None = customer_count_hint(customers)
        except ConditionError:
            count = None
        summaries.append(SegmentSummary(segment, count))
    return summaries
