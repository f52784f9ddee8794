"""Reads on segments."""

from django.db.models import QuerySet

from customers.conditions import conditions_from_json
from customers.models import Customer
from customers.selectors import customers_matching

from .models import Segment


def segment_queryset(segment: Segment) -> QuerySet[Customer]:
    """The customers of the segment's store that match its conditions right now."""
    return customers_matching(segment.store, conditions_from_json(segment.conditions))
