"""The customer list: filters (in the URL, shown as chips), sorting, keyset pages, a cheap
total, and bulk actions on the selection or on everything the filters match."""

from collections.abc import Iterable
from functools import partial
from html import escape
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from storefront_crm.errors import ServiceError
from storefront_crm.models import Store
from storefront_crm.request_input import id_param
from storefront_crm.tenancy import can, permission_required

from ..filters import PAGING_PARAMS, CustomerFilterSet, FiltersInvalid
from ..io.exporter import CSV_DIALECTS
from ..selectors import (
    CountHint,
    CustomerSelection,
    ListSort,
    customer_group_choices,
    customer_page,
    customer_selection,
    customers_for_job_params,
    customers_matching,
    tags_matching_search,
)
from ..selectors_setup import custom_field_definitions, customer_list_columns_saved
from ..services.bulk import BULK_ACTIONS, SelectionChanged, bulk_action_start, bulk_permission
from ..services.list_columns import (
    CUSTOM_FIELD_COLUMN,
    DEFAULT_LIST_COLUMNS,
    LIST_COLUMN_KEYS,
    customer_list_columns_set,
    list_columns_valid,
)
from .listing_rows import LIST_COLUMNS, StoreFormatter, customer_head_html, customer_rows_html

PAGE_SIZE = 50
# The page a bulk action shows before it runs: a confirmation, or a question. The
# selection it showed (count and fingerprint) comes back with the answer, and the action is
# refused if other customers match by then.
BULK_STEP_TEMPLATES = {
    "delete": "customers/list/bulk_confirm.html",
    "group_set": "customers/list/bulk_group.html",
    "export": "customers/list/bulk_export.html",
}
SELECTION_COUNT, SELECTION_FINGERPRINT = "selection_count", "selection_fingerprint"
# Posted fields that a step page asks anew rather than passing on.
BULK_STEP_ANSWERS = {"csrfmiddlewaretoken", "confirmed", "group", "dialect"}
# ``?panel=filters`` shows the filter fields in the page (the link for browsers without
# JavaScript; with it, htmx loads them when the panel is opened).
PANEL_PARAM, PANEL_FILTERS = "panel", "filters"
# Sort key -> the direction a first click on its column sorts in.
FIRST_SORT_DIRECTIONS = {
    "name": "",
    "email": "",
    "orders": "-",
    "spent": "-",
    "last_order": "-",
    "since": "-",
}
# Where a member's chosen columns are kept between requests (per store).
COLUMNS_SESSION_KEY = "customer_list_columns:{store_id}"


def _filter_query(params: QueryDict) -> QueryDict:
    """The query string without the page position: what selects the customers."""
    query = params.copy()
    for key in (*PAGING_PARAMS, PANEL_PARAM):
        query.pop(key, None)
    return query


def _url(params: QueryDict, **changes: str | int | None) -> str:
    params = params.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = str(value)
    return "?" + urlencode(list(params.lists()), doseq=True)


def _sort_links(query: QueryDict, sort: ListSort) -> dict[str, tuple[str, str | None]]:
    """Sort key -> (the URL of the list sorted by that column next, its aria-sort state)."""
    # Every header's link is the query with another sort: encoded once, not per header.
    others = [(key, values) for key, values in query.lists() if key != "sort"]
    base = "?" + (urlencode(others, doseq=True) + "&" if others else "") + "sort="
    links: dict[str, tuple[str, str | None]] = {}
    for key, first_direction in FIRST_SORT_DIRECTIONS.items():
        if key == sort.key:
            next_sort = key if sort.descending else f"-{key}"
            state: str | None = "descending" if sort.descending else "ascending"
        else:
            next_sort, state = f"{first_direction}{key}", None
        links[key] = (base + next_sort, state)
    return links


def list_columns_of(request: HttpRequest) -> list[str]:
    """The columns the member chose for this store's list (or the defaults): from the
    session once read, so that the list's queries stay the same whatever the choice."""
    store = request.store
    session_key = COLUMNS_SESSION_KEY.format(store_id=store.pk)
    columns = request.session.get(session_key)
    if columns is None:
        saved = customer_list_columns_saved(store=store, user=request.user)
        columns = request.session[session_key] = list(saved or DEFAULT_LIST_COLUMNS)
    return list_columns_valid(store=store, columns=columns)


def _html_join(pattern: str, rows: Iterable[tuple]) -> SafeString:
    """``pattern`` filled with each row's escaped values (format_html_join, without its
    per-value SafeString round trips)."""
    return mark_safe(  # noqa: S308 - every value is escaped
        "".join(pattern.format(*(escape(str(value)) for value in row)) for row in rows)
    )


def _hidden_inputs(query: QueryDict, leave_out: Iterable[str] = ()) -> SafeString:
    """The query's parameters as hidden inputs, for a form that must keep them."""
    return _html_join(
        '<input type="hidden" name="{}" value="{}">',
        ((key, value) for key, values in query.lists() if key not in leave_out for value in values),
    )


def _page_number(value: str | None) -> int:
    number = id_param(value)
    return number if number is not None and 0 < number < 1_000_000 else 1


def _filter_set(query: QueryDict, store: Store, *, all_fields: bool) -> CustomerFilterSet:
    """The list's filters: every one of them (with the store's custom fields) when the
    filter fields are shown, else only those the query names."""
    return CustomerFilterSet(query, store=store, given_only=not all_fields)


@permission_required("customers.view")
def customer_index(request: HttpRequest, store_slug: str) -> HttpResponse:
    store = request.store
    query = _filter_query(request.GET)
    panel_open = request.GET.get(PANEL_PARAM) == PANEL_FILTERS
    filtered = any(key != "sort" for key in query)
    if filtered or panel_open:
        filters = _filter_set(query, store, all_fields=panel_open)
        if filters.form.errors and not panel_open:
            # Show the marked fields (with every custom field among them) at once.
            panel_open, filters = True, _filter_set(query, store, all_fields=True)
        if panel_open:
            filters.choices_load()
        try:
            conditions, filter_problems = filters.conditions(), []
        except FiltersInvalid as invalid:
            # Listing what the valid filters match would show customers nobody asked for.
            conditions, filter_problems = None, invalid.problems
        chips = filters.chips()
    else:
        # No filter in the URL: nothing to validate, nothing to show (the FilterSet and its
        # form are built only if something asks for them).
        filters = SimpleLazyObject(partial(_filter_set, query, store, all_fields=False))
        conditions, chips, filter_problems = [], [], []
    sort = ListSort.parse(request.GET.get("sort"))
    columns = list_columns_of(request)
    shows_custom_fields = any(column.startswith(CUSTOM_FIELD_COLUMN) for column in columns)
    custom_fields = custom_field_definitions(store=store) if shows_custom_fields else {}
    customers = (
        customers_matching(store, conditions)
        if conditions is not None
        else customers_matching(store, []).none()
    )
    asked_page = _page_number(request.GET.get("page"))
    page = customer_page(
        customers,
        sort=sort,
        page_size=PAGE_SIZE,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        number=asked_page,
        count=True,
        city="city" in columns,
    )
    count = page.count
    page_param = request.GET.get("page", "").strip()
    if page_param and (asked_page > page.number or page_param != str(asked_page)):
        messages.info(
            request,
            _("There is no page %(asked)s of this list; this is page %(number)d.")
            % {"asked": page_param[:20], "number": page.number},
        )
    page_count = -(-count.value // PAGE_SIZE) if count.exact else None
    bulk_actions = [
        (name, action.label)
        for name, action in BULK_ACTIONS.items()
        if can(request, action.permission)
    ]
    query_string = query.urlencode()
    search = query.get("q", "")
    # Tags named like the search, each a link to its customers (with the other filters).
    search_tags = [
        (name, _url(query, q=None, tag=tag_id, tag_mode=None))
        for tag_id, name in (tags_matching_search(store=store, text=search) if search else [])
    ]
    return render(
        request,
        "customers/list/index.html",
        {
            "filters": filters,
            "filter_panel_open": panel_open,
            "filter_panel_url": reverse(
                "panel:customers_filter_panel", kwargs={"store_slug": store.slug}
            )
            + f"?{query_string}",
            "filter_panel_page_url": _url(query, **{PANEL_PARAM: PANEL_FILTERS}) + "#filter-panel",
            "search_value": search,
            "search_tags": search_tags,
            "filter_hidden_inputs": ""
            if panel_open
            else _hidden_inputs(query, leave_out={"q", "sort"}),
            "chips": chips,
            "filter_problems": filter_problems,
            "page": page,
            "count": count,
            "page_count": page_count,
            "sort": str(sort),
            "head_html": customer_head_html(
                columns,
                custom_fields=custom_fields,
                sort_links=_sort_links(query, sort),
                selectable=bool(bulk_actions),
            ),
            "query_string": query_string,
            "clear_url": _url(QueryDict(), sort=request.GET.get("sort")),
            "next_url": _url(query, after=page.next_cursor, page=page.number + 1)
            if page.has_next
            else None,
            "previous_url": (
                _url(query, before=page.previous_cursor, page=page.number - 1)
                if page.number > 2
                else _url(query)
            )
            if page.has_previous
            else None,
            # Repeated markup joined here: a template loop costs a node per value.
            "jump_inputs": _hidden_inputs(query),
            "bulk_actions": bulk_actions,
            "bulk_action_options": _html_join('<option value="{}">{}</option>', bulk_actions),
            "columns_url": reverse("panel:customer_list_columns", kwargs={"store_slug": store.slug})
            + _url(query),
            "rows_html": customer_rows_html(
                page.customers,
                columns=columns,
                custom_fields=custom_fields,
                formatter=StoreFormatter(language=store.language, currency=store.currency),
                # Built once, not per row.
                customer_url_prefix=reverse(
                    "panel:customer", kwargs={"store_slug": store.slug, "customer_id": 0}
                ).removesuffix("0/"),
                orders_url=reverse("panel:orders", kwargs={"store_slug": store.slug}),
                selectable=bool(bulk_actions),
            ),
            "has_filters": bool(chips or filter_problems),
        },
    )


@permission_required("customers.view")
def customer_filter_panel(request: HttpRequest, store_slug: str) -> HttpResponse:
    """The filter fields for the current query, loaded by htmx when the panel is opened."""
    filters = _filter_set(_filter_query(request.GET), request.store, all_fields=True)
    filters.choices_load()
    return render(request, "customers/list/_filter_fields.html", {"filters": filters})


@require_POST
@permission_required("customers.tags")  # the least any bulk action needs; each checks its own
def customer_bulk(request: HttpRequest, store_slug: str) -> HttpResponse:
    store = request.store
    query = _filter_query(QueryDict(request.POST.get("query", "")))
    list_url = reverse("panel:customers", kwargs={"store_slug": store_slug}) + _url(query)
    action = request.POST.get("action", "")
    try:
        permission = bulk_permission(action)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(list_url)
    if not can(request, permission):
        raise PermissionDenied(f"Your role cannot use {permission}.")
    if request.POST.get("scope") == "all":
        try:
            conditions = CustomerFilterSet(query, store=store, given_only=True).conditions()
        except FiltersInvalid as invalid:
            messages.error(
                request,
                _("Nothing was done: the filters cannot be applied. %(problems)s")
                % {"problems": invalid.message},
            )
            return redirect(list_url)
        customer_ids = None
    else:
        conditions = []
        customer_ids = [pk for pk in map(id_param, request.POST.getlist("ids")) if pk is not None]
        if not customer_ids:
            messages.error(request, _("Select customers first, or choose all that match."))
            return redirect(list_url)
    group_id, dialect = id_param(request.POST.get("group")), request.POST.get("dialect", "")
    expected = _posted_selection(request.POST)
    # Deleting asks for confirmation; setting a group asks which one (the list page does not
    # read the store's groups on every view for a control that is seldom used); exporting
    # asks for which program the file is. Each runs only with the selection its step showed.
    step = {
        "delete": request.POST.get("confirmed") != "yes",
        "group_set": group_id is None,
        "export": dialect not in CSV_DIALECTS,
    }
    targets = {"conditions": [c.to_json() for c in conditions], "customer_ids": customer_ids}
    if action in step and (step[action] or expected is None):
        return _bulk_step(request, action, targets, list_url)
    try:
        outcome = bulk_action_start(
            store=store,
            actor=request.user,
            action=action,
            conditions=conditions,
            customer_ids=customer_ids,
            tag_names=request.POST.get("tag", "").split(","),
            group_id=group_id,
            base_url=request.build_absolute_uri("/"),
            dialect=dialect,
            expected=expected if action in step else None,
        )
    except SelectionChanged as changed:
        messages.warning(request, changed.message)
        return _bulk_step(request, action, targets, list_url, selection=changed.current)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(list_url)
    if outcome.job is not None:
        messages.info(request, _("This runs in the background; progress is shown below."))
        return redirect("panel:job", store_slug=store_slug, job_id=outcome.job.pk)
    if action == "delete":
        text = ngettext(
            "%(count)d customer deleted.", "%(count)d customers deleted.", outcome.changed
        )
    elif action == "email_confirm_send":
        text = (
            ngettext(
                "Confirmation email sent to %(count)d customer.",
                "Confirmation email sent to %(count)d customers.",
                outcome.changed,
            )
            + " "
            + _("Guests, confirmed emails and customers emailed in the last minute are left out.")
        )
    else:
        text = ngettext(
            "%(action)s: %(count)d customer changed.",
            "%(action)s: %(count)d customers changed.",
            outcome.changed,
        )
    messages.success(
        request, text % {"action": BULK_ACTIONS[action].label, "count": outcome.changed}
    )
    return redirect(list_url)


def _posted_selection(post: QueryDict) -> CustomerSelection | None:
    count, fingerprint = id_param(post.get(SELECTION_COUNT)), post.get(SELECTION_FINGERPRINT)
    if count is None or not fingerprint:
        return None
    return CustomerSelection(count=count, fingerprint=fingerprint[:64])


def _bulk_step(
    request: HttpRequest,
    action: str,
    targets: dict,
    list_url: str,
    selection: CustomerSelection | None = None,
) -> HttpResponse:
    """The page that confirms or asks before ``action`` runs, showing exactly how many
    customers it acts on and binding the answer to them."""
    store = request.store
    if selection is None:
        selection = customer_selection(customers_for_job_params(store, targets))
    passed_on = [
        (key, value)
        for key, values in request.POST.lists()
        for value in values
        if key not in {*BULK_STEP_ANSWERS, SELECTION_COUNT, SELECTION_FINGERPRINT}
    ]
    return render(
        request,
        BULK_STEP_TEMPLATES[action],
        {
            "count": CountHint(selection.count, exact=True),
            "post": [
                *passed_on,
                (SELECTION_COUNT, str(selection.count)),
                (SELECTION_FINGERPRINT, selection.fingerprint),
            ],
            "heading": BULK_ACTIONS[action].label,
            "groups": customer_group_choices(store=store) if action == "group_set" else [],
            "list_url": list_url,
        },
    )


@permission_required("customers.view")
def customer_list_columns(request: HttpRequest, store_slug: str) -> HttpResponse:
    """Choose and order the list's columns; kept for this member in this store."""
    store = request.store
    list_url = reverse("panel:customers", kwargs={"store_slug": store_slug})
    back = request.POST.get("back") or request.GET.urlencode()
    back_url = list_url + ("?" + QueryDict(back).urlencode() if back else "")
    fields = custom_field_definitions(store=store)
    available = [
        *((key, str(LIST_COLUMNS[key].label)) for key in LIST_COLUMN_KEYS),
        *((f"{CUSTOM_FIELD_COLUMN}{key}", label) for key, (label, _type) in fields.items()),
    ]
    if request.method == "POST":
        try:
            if "reset" in request.POST:
                chosen = customer_list_columns_set(store=store, actor=request.user, columns=None)
            else:
                chosen = customer_list_columns_set(
                    store=store,
                    actor=request.user,
                    columns=_columns_posted(request.POST, [key for key, _label in available]),
                )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            request.session[COLUMNS_SESSION_KEY.format(store_id=store.pk)] = chosen
            messages.success(request, _("The list now shows the columns you chose."))
            return redirect(back_url)
    current = list_columns_of(request)
    position = {column: index for index, column in enumerate(current, start=1)}
    rows = [
        {
            "key": key,
            "label": label,
            "shown": key in position,
            "position": position.get(key, ""),
            "required": key == "name",
        }
        for key, label in sorted(available, key=lambda item: position.get(item[0], 1000))
    ]
    return render(
        request,
        "customers/list/columns.html",
        {"rows": rows, "back": back, "back_url": back_url},
    )


def _columns_posted(post: QueryDict, available: list[str]) -> list[str]:
    """The checked columns, ordered by the positions typed beside them (then as listed)."""
    shown = set(post.getlist("show"))
    order = []
    for index, key in enumerate(available):
        if key in shown or key == "name":
            typed = id_param(post.get(f"position_{key}"))
            order.append((typed if typed is not None else 1000 + index, index, key))
    return [key for _typed, _index, key in sorted(order)] + [
        key for key in post.getlist("show") if key not in available
    ]


urlpatterns = [
    path("", customer_index, name="customers"),
    path("columns/", customer_list_columns, name="customer_list_columns"),
    path("filter-panel/", customer_filter_panel, name="customers_filter_panel"),
    path("bulk/", customer_bulk, name="customers_bulk"),
]
