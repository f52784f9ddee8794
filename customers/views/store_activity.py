"""The store's activity: what happened to the store's customer data as a whole (imports,
exports, deleted customers, changes to groups, tags, custom fields and segments), who did it
and when.
What happened to one customer is on that customer's profile."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from storefront_crm.tenancy import permission_required

from ..models import ActivityEvent
from ..selectors_profile import history_page
from ..services.groups import discount_display

EVENTS_PER_PAGE = 100


def _pair(value: Any) -> tuple[Any, Any]:
    """An ``[old, new]`` pair as the services record it."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0], value[1]
    return "?", value


def _count(data: dict[str, Any], key: str) -> int:
    return int(data.get(key) or 0)


def store_event_sentence(event: ActivityEvent) -> str:
    """One line of the store's activity as a translated sentence."""
    data: dict[str, Any] = event.data or {}
    verb = event.verb
    by_command = " " + _("(command line)") if data.get("via") == "command" else ""
    if verb == "customers.imported":
        return _(
            "Imported customers (%(format)s): %(created)s created, %(updated)s updated, "
            "%(unchanged)s unchanged, %(skipped)s skipped"
        ) % {
            "format": data.get("format", "?"),
            "created": data.get("created", 0),
            "updated": data.get("updated", 0),
            "unchanged": data.get("unchanged", 0),
            "skipped": data.get("skipped", 0),
        }
    if verb == "customers.exported":
        count = _count(data, "count")
        sentence = ngettext(
            "Exported %(count)d customer", "Exported %(count)d customers", count
        ) % {"count": count}
        if data.get("segment"):
            sentence += " " + _("of segment %(segment)s") % {"segment": data["segment"]}
        elif data.get("selection"):
            sentence += " " + _("(a selection)")
        return sentence + by_command
    if verb == "orders.exported":
        count = _count(data, "count")
        if data.get("what") in ("products", "ordered products"):
            sentence = ngettext(
                "Exported %(count)d ordered product", "Exported %(count)d ordered products", count
            ) % {"count": count}
        else:
            sentence = ngettext("Exported %(count)d order", "Exported %(count)d orders", count) % {
                "count": count
            }
        if data.get("date_from") or data.get("date_to"):
            sentence += " " + _("placed %(start)s – %(end)s") % {
                "start": data.get("date_from") or "…",
                "end": data.get("date_to") or "…",
            }
        return sentence + by_command
    if verb == "orders.imported":
        return _(
            "Imported orders: %(created)s created, %(skipped)s skipped, %(customers)s new customers"
        ) % {
            "created": data.get("created", 0),
            "skipped": data.get("skipped", 0),
            "customers": data.get("customers_created", 0),
        }
    if verb == "customer.deleted":
        return ngettext(
            "Deleted the customer %(email)s (%(count)d order kept without a profile)",
            "Deleted the customer %(email)s (%(count)d orders kept without a profile)",
            _count(data, "orders_detached"),
        ) % {"count": _count(data, "orders_detached"), "email": data.get("email", "?")}
    if verb == "customer.merged_away":
        orders = data.get("orders_moved", 0)
        return ngettext(
            "Merged the customer %(email)s into %(into)s (%(orders)d order moved)",
            "Merged the customer %(email)s into %(into)s (%(orders)d orders moved)",
            orders,
        ) % {
            "email": data.get("email", "?"),
            "into": (data.get("merged_into") or {}).get("email", "?"),
            "orders": orders,
        }
    if verb == "group.created":
        return _("Created the group “%(group)s” (discount %(discount)s %%)") % {
            "group": data.get("group", "?"),
            "discount": discount_display(data.get("discount_percent", "0")),
        }
    if verb == "group.renamed":
        old, new = _pair(data.get("group"))
        return _("Renamed the group “%(old)s” to “%(new)s”") % {"old": old, "new": new}
    if verb == "group.discount_set":
        old, new = _pair(data.get("discount_percent"))
        return _("Changed the discount of “%(group)s” from %(old)s %% to %(new)s %%") % {
            "group": data.get("group", "?"),
            "old": discount_display(old),
            "new": discount_display(new),
        }
    if verb == "group.deleted":
        return ngettext(
            "Deleted the group “%(group)s”; %(count)d customer moved to “%(to)s”",
            "Deleted the group “%(group)s”; %(count)d customers moved to “%(to)s”",
            _count(data, "moved"),
        ) % {
            "count": _count(data, "moved"),
            "group": data.get("group", "?"),
            "to": data.get("moved_to", "?"),
        }
    if verb == "tag.created":
        return _("Created the tag “%(tag)s”") % {"tag": data.get("tag", "?")}
    if verb == "tag.renamed":
        old, new = _pair(data.get("tag"))
        return _("Renamed the tag “%(old)s” to “%(new)s”") % {"old": old, "new": new}
    if verb == "tag.merged":
        return ngettext(
            "Merged the tag “%(tag)s” into “%(into)s” (%(count)d customer)",
            "Merged the tag “%(tag)s” into “%(into)s” (%(count)d customers)",
            _count(data, "moved"),
        ) % {
            "count": _count(data, "moved"),
            "tag": data.get("tag", "?"),
            "into": data.get("into", "?"),
        }
    if verb == "tag.deleted":
        return ngettext(
            "Deleted the tag “%(tag)s” (removed from %(count)d customer)",
            "Deleted the tag “%(tag)s” (removed from %(count)d customers)",
            _count(data, "customers"),
        ) % {"count": _count(data, "customers"), "tag": data.get("tag", "?")}
    if verb == "custom_field.created":
        return _("Added the custom field “%(label)s”") % {"label": data.get("label", "?")}
    if verb == "custom_field.updated":
        return _("Changed the custom field “%(key)s”: %(what)s") % {
            "key": data.get("key", "?"),
            "what": ", ".join(sorted(data.get("changes") or {})),
        }
    if verb == "custom_field.deleted":
        return ngettext(
            "Removed the custom field “%(label)s” (%(count)d value removed)",
            "Removed the custom field “%(label)s” (%(count)d values removed)",
            _count(data, "values_removed"),
        ) % {"count": _count(data, "values_removed"), "label": data.get("label", "?")}
    if verb == "custom_field.reordered":
        return _("Reordered the custom fields")
    if verb == "segment.created":
        return _("Saved the segment “%(segment)s”") % {"segment": data.get("segment", "?")}
    if verb == "segment.deleted":
        return _("Deleted the segment “%(segment)s”") % {"segment": data.get("segment", "?")}
    return verb


@permission_required("store.activity")
def store_activity(request: HttpRequest, store_slug: str) -> HttpResponse:
    """The store-wide events, newest first, page by page."""
    page = history_page(
        ActivityEvent.objects.filter(store=request.store, customer=None).select_related("actor"),
        time_field="created_at",
        size=EVENTS_PER_PAGE,
        before=request.GET.get("before"),
        after=request.GET.get("after"),
    )
    return render(
        request,
        "customers/activity/store.html",
        {"events": [(event, store_event_sentence(event)) for event in page.rows], "page": page},
    )


urlpatterns = [path("activity/", store_activity, name="store_activity")]
