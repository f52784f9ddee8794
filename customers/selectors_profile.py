"""Reads for the history pages of a customer profile: all orders and the whole activity log,
newest first, page by page.

Pages are keyset pages (``WHERE (time, id) < cursor ORDER BY time DESC, id DESC LIMIT n``):
each page is one index range read however deep it is and however many rows the customer
has, where an offset would read and skip every earlier row. A cursor is the time (whole
microseconds since the epoch) and id of a row, e.g. ``1718000000123456-42``.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)


@dataclass
class HistoryPage:
    rows: list[Any]
    older: str | None  # cursor of the next page of older rows; None on the last page
    newer: str | None  # cursor of the page of newer rows; None on the newest page


def cursor_of(row: Any, time_field: str) -> str:
    return f"{(getattr(row, time_field) - EPOCH) // MICROSECOND}-{row.pk}"


def cursor_parse(text: str | None) -> tuple[datetime.datetime, int] | None:
    """The (time, id) of a cursor; None for a missing or malformed one (the newest page)."""
    micros, _, pk = (text or "").partition("-")
    if not (micros.isdigit() and pk.isdigit()) or len(micros) > 18 or len(pk) > 18:
        return None
    try:
        return EPOCH + int(micros) * MICROSECOND, int(pk)
    except OverflowError:
        return None


def history_page(
    rows: QuerySet,
    *,
    time_field: str,
    size: int,
    before: str | None = None,
    after: str | None = None,
) -> HistoryPage:
    """``size`` rows older than the cursor ``before`` (or the newest ones), or, going back,
    the ``size`` rows just newer than ``after``. One query (two when going back reaches the
    newest rows, which are then shown as the newest page)."""
    start = cursor_parse(after)
    if start is not None:
        moment, pk = start
        newer = list(
            rows.filter(
                Q(**{f"{time_field}__gt": moment}) | Q(**{time_field: moment, "pk__gt": pk})
            ).order_by(time_field, "pk")[: size + 1]
        )
        if len(newer) > size:
            page = newer[:size][::-1]
            return HistoryPage(
                rows=page,
                older=cursor_of(page[-1], time_field),
                newer=cursor_of(page[0], time_field),
            )
        before = None  # back at the top: the newest page, full
    end = cursor_parse(before)
    ordered = rows.order_by(f"-{time_field}", "-pk")
    if end is not None:
        moment, pk = end
        ordered = ordered.filter(
            Q(**{f"{time_field}__lt": moment}) | Q(**{time_field: moment, "pk__lt": pk})
        )
    found = list(ordered[: size + 1])
    page = found[:size]
    return HistoryPage(
        rows=page,
        older=cursor_of(page[-1], time_field) if len(found) > size else None,
        newer=cursor_of(page[0], time_field) if end is not None and page else None,
    )
