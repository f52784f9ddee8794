"""The customer list's filters: URL parameters in, conditions of the condition engine out.

The FilterSet validates the query string (another store's group or tag id is an invalid
choice, a malformed number an error) and turns it into ``Condition`` objects, so the list,
its bulk actions, its CSV export and saved segments all select customers through
``customers.selectors.customers_matching``.

A query with any invalid part selects nobody: ``conditions()`` raises ``FiltersInvalid``
instead of leaving the invalid filter out. Leaving it out would widen the selection, and
an empty list of conditions means the whole store: a bulk delete confirmed for the two
customers of a group that a colleague deleted meanwhile would delete everyone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from storefront_crm.errors import ServiceError
from storefront_crm.formatting import date_format
from storefront_crm.models import Store
from storefront_crm.request_input import id_param

from .conditions import DATE_MAX, DATE_MIN, ISO_DATE, MAX_DAYS, Condition, conditions_apply
from .models import (
    Customer,
    CustomerGroup,
    CustomerSource,
    CustomerTag,
    CustomField,
    CustomFieldType,
)

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
TAG_MODES = [("any", _("any of")), ("all", _("all of"))]
ACCOUNT_STATES = [
    ("guest", _("Guest")),
    ("registered", _("Registered")),
    ("blocked", _("Blocked")),
    ("inactive", _("Inactive")),
    ("unconfirmed", _("Email not confirmed")),
]
# Filters counted back from today: parameter -> (field, operator) of the condition.
RELATIVE_DATE_FILTERS = {
    "last_order_within": ("last_order_at", "within_days"),
    "last_order_not_within": ("last_order_at", "before_days"),
    "since_within": ("customer_since", "within_days"),
}
# Parameters that position the page, not the selection: dropped whenever a filter changes.
PAGING_PARAMS = ("after", "before", "page")
# Every custom field's filters are named ``cf_<key>`` (plus a suffix for ranges).
CUSTOM_FIELD_PREFIX = "cf_"
# Parameters of a list query that are not filters (the order of the rows).
NON_FILTER_PARAMS = ("sort",)
# Bounds of what a filter accepts: beyond them a number is no count a store can have (and
# a database integer or a date would overflow).
MAX_COUNT = 10**9
MAX_MONEY = Decimal("1e12")


class FiltersInvalid(ServiceError):
    """The query names a filter value that cannot be applied (a deleted group or tag,
    another store's id, a renamed custom field, a typo): nothing is selected."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


def _ignore(queryset: QuerySet, name: str, value: Any) -> QuerySet:
    return queryset  # the FilterSet compiles all filters together in filter_queryset


@dataclass(frozen=True)
class Chip:
    """An active filter shown above the list, with the URL that removes it."""

    label: str
    remove_url: str


# Range filters as (lower bound, upper bound); custom fields' ranges are found by suffix.
RANGE_PAIRS = (
    ("spent_min", "spent_max"),
    ("orders_min", "orders_max"),
    ("last_order_from", "last_order_to"),
    ("since_from", "since_to"),
)
RANGE_SUFFIXES = (("_min", "_max"), ("_from", "_to"))


class IntegerFilter(django_filters.NumberFilter):
    """A count: whole numbers only (``orders_min=1.5`` is an error, not 1), at most
    ``maximum``."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, maximum: int = MAX_COUNT, **kwargs: Any) -> None:
        super().__init__(*args, min_value=0, max_value=maximum, **kwargs)


class MoneyFilter(django_filters.NumberFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_value=0, max_value=MAX_MONEY, **kwargs)


class StoreRowsField(forms.ModelMultipleChoiceField):
    """Ids of the store's groups or tags. A value that is no id at all (too long for any
    database integer, "²") is refused before it reaches the database, which would fail on
    it."""

    def _check_values(self, value: Any) -> Any:
        for pk in value if isinstance(value, list | tuple) else [value]:
            if id_param(str(pk)) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], params={"pk": str(pk)[:20]}
                )
        return super()._check_values(value)


class StoreRowsFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = StoreRowsField


# Messages for a group or tag id that the store does not have (any more).
STALE_GROUP = {
    "invalid_choice": _(
        "Group “%(value)s” does not exist in this store (any more): it was deleted, or it"
        " belongs to another store."
    ),
    "invalid_pk_value": _("“%(pk)s” is not the id of a group."),
}
STALE_TAG = {
    "invalid_choice": _(
        "Tag “%(value)s” does not exist in this store (any more): it was deleted, or it"
        " belongs to another store."
    ),
    "invalid_pk_value": _("“%(pk)s” is not the id of a tag."),
}


class CustomerFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name, value in list(data.items()):
            if isinstance(value, dt.date) and not DATE_MIN <= value <= DATE_MAX:
                self.add_error(
                    name,
                    _("Choose a date between %(first)s and %(last)s.")
                    % {"first": DATE_MIN.year, "last": DATE_MAX.year},
                )
                data = self.cleaned_data
        pairs = list(RANGE_PAIRS)
        for name in self.fields:
            if name.startswith(CUSTOM_FIELD_PREFIX):
                pairs += [
                    (name, name[: -len(low)] + high)
                    for low, high in RANGE_SUFFIXES
                    if name.endswith(low)
                ]
        for low, high in pairs:
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                self.add_error(
                    high,
                    _("“%(high)s” is less than “%(low)s”: swap them or widen the range.")
                    % {"high": self.fields[high].label, "low": self.fields[low].label},
                )
        return data

    def clean_country(self) -> list[str]:
        raw = self.cleaned_data.get("country") or ""
        codes = [code.strip().upper() for code in raw.replace(";", ",").split(",") if code.strip()]
        wrong = [code for code in codes if len(code) != 2 or not code.isalpha()]
        if wrong:
            raise forms.ValidationError(
                _("Use two-letter country codes such as DE or AT, not %(codes)s.")
                % {"codes": ", ".join(wrong)}
            )
        return codes


class CustomerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search by name, email or phone"), method=_ignore)
    spent_min = MoneyFilter(label=_("Total spent from"), method=_ignore)
    spent_max = MoneyFilter(label=_("Total spent to"), method=_ignore)
    orders_min = IntegerFilter(label=_("Orders from"), method=_ignore)
    orders_max = IntegerFilter(label=_("Orders to"), method=_ignore)
    last_order_from = django_filters.DateFilter(
        label=_("Last order from"), method=_ignore, widget=_date_widget()
    )
    last_order_to = django_filters.DateFilter(
        label=_("Last order to"), method=_ignore, widget=_date_widget()
    )
    last_order_within = IntegerFilter(
        label=_("Ordered in the last (days)"), method=_ignore, maximum=MAX_DAYS
    )
    last_order_not_within = IntegerFilter(
        label=_("No order in the last (days)"),
        method=_ignore,
        maximum=MAX_DAYS,
        help_text=_("Customers who ordered before, but not in these days"),
    )
    since_within = IntegerFilter(
        label=_("New in the last (days)"), method=_ignore, maximum=MAX_DAYS
    )
    since_from = django_filters.DateFilter(
        label=_("Customer since from"), method=_ignore, widget=_date_widget()
    )
    since_to = django_filters.DateFilter(
        label=_("Customer since to"), method=_ignore, widget=_date_widget()
    )
    group = StoreRowsFilter(
        label=_("Group"),
        queryset=CustomerGroup.objects.none(),
        method=_ignore,
        error_messages=STALE_GROUP,
    )
    tag = StoreRowsFilter(
        label=_("Tags"),
        queryset=CustomerTag.objects.none(),
        method=_ignore,
        error_messages=STALE_TAG,
    )
    tag_mode = django_filters.ChoiceFilter(
        label=_("Match tags"), choices=TAG_MODES, method=_ignore, empty_label=None
    )
    country = django_filters.CharFilter(
        label=_("Country"),
        method=_ignore,
        help_text=_("Two-letter codes, separated by commas (DE, AT)"),
    )
    marketing = django_filters.ChoiceFilter(
        label=_("Accepts marketing"), choices=YES_NO, method=_ignore, empty_label=_("Any")
    )
    tax_exempt = django_filters.ChoiceFilter(
        label=_("Tax exempt"), choices=YES_NO, method=_ignore, empty_label=_("Any")
    )
    source = django_filters.MultipleChoiceFilter(
        label=_("Came from"),
        choices=CustomerSource.choices,
        method=_ignore,
        widget=forms.SelectMultiple(attrs={"size": len(CustomerSource.choices)}),
    )
    state = django_filters.MultipleChoiceFilter(
        label=_("Account"),
        choices=ACCOUNT_STATES,
        method=_ignore,
        widget=forms.SelectMultiple(attrs={"size": len(ACCOUNT_STATES)}),  # all in view
    )

    class Meta:
        model = Customer
        fields: list[str] = []
        form = CustomerFilterForm

    def __init__(
        self,
        data: QueryDict | dict[str, Any] | None,
        *,
        store: Store,
        custom_fields: Iterable[CustomField] | None = None,
        given_only: bool = False,
    ) -> None:
        """``given_only``: build only the filters that ``data`` names (what validating and
        applying a query needs; every filter and its form field are built for showing the
        filter fields). The store's custom fields are read only if needed."""
        given = set(data or ()) if given_only else None
        if given is not None:
            # An instance attribute: FilterSet.__init__ copies only these.
            self.base_filters = {
                name: base for name, base in self.base_filters.items() if name in given
            }
            if not any(name.startswith(CUSTOM_FIELD_PREFIX) for name in given):
                custom_fields = []
        super().__init__(data, queryset=Customer.objects.filter(store=store))
        self.store = store
        if "group" in self.filters:
            self.filters["group"].queryset = CustomerGroup.objects.filter(store=store)
        if "tag" in self.filters:
            self.filters["tag"].queryset = CustomerTag.objects.filter(store=store)
        self.groups: list[CustomerGroup] | None = None
        self.tags: list[CustomerTag] | None = None
        if custom_fields is None:
            custom_fields = CustomField.objects.filter(store=store)
        self.custom_fields = list(custom_fields)
        for field in self.custom_fields:
            self.filters.update(
                (name, custom)
                for name, custom in _custom_field_filters(field).items()
                if given is None or name in given
            )

    def choices_load(self) -> None:
        """Fill the group and tag choices, only for rendering the filter fields: one plain
        query each (a model choice field would open a server-side cursor every time it
        renders). Validation and chips never need them: they look up only the given ids,
        always within the store."""
        if self.groups is None:
            self.groups = list(CustomerGroup.objects.filter(store=self.store))
            self.tags = list(CustomerTag.objects.filter(store=self.store))
            self.form.fields["group"].widget.choices = [(g.pk, g.name) for g in self.groups]
            self.form.fields["tag"].widget.choices = [(t.pk, t.name) for t in self.tags]

    def filter_queryset(self, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        return conditions_apply(queryset, store=self.store, conditions=self.conditions())

    @property
    def cleaned(self) -> dict[str, Any]:
        self.form.is_valid()
        data = self.form.cleaned_data
        return {key: value for key, value in data.items() if value not in (None, "", [])}

    def problems(self) -> list[str]:
        """What is wrong with the query, for people: each invalid filter with its label, and
        each parameter that names no filter (a custom field renamed or deleted, a typo)."""
        problems = [
            f"{self.form.fields[name].label if name in self.form.fields else name}: {error}"
            for name, errors in self.form.errors.items()
            for error in errors
        ]
        for name in self.data or ():
            if name in self.filters or name in NON_FILTER_PARAMS:
                continue
            if name.startswith(CUSTOM_FIELD_PREFIX):
                problems.append(
                    _(
                        "“%(name)s” names no custom field of this store (any more): it was"
                        " renamed or deleted."
                    )
                    % {"name": name}
                )
            else:
                problems.append(_("The list has no filter “%(name)s”.") % {"name": name[:60]})
        return problems

    def conditions(self) -> list[Condition]:
        """The filters as engine conditions; raises ``FiltersInvalid`` when any part of the
        query is invalid (see the module's docstring)."""
        problems = self.problems()
        if problems:
            raise FiltersInvalid(problems)
        data = self.cleaned
        conditions: list[Condition] = []
        if data.get("q", "").strip():
            conditions.append(Condition("search", "contains", data["q"].strip()))
        for field, low, high in (
            ("total_spent", "spent_min", "spent_max"),
            ("orders_count", "orders_min", "orders_max"),
        ):
            cast = str if field == "total_spent" else int
            if low in data:
                conditions.append(Condition(field, "gte", cast(data[low])))
            if high in data:
                conditions.append(Condition(field, "lte", cast(data[high])))
        for field, start, end in (
            ("last_order_at", "last_order_from", "last_order_to"),
            ("customer_since", "since_from", "since_to"),
        ):
            if start in data or end in data:
                value = [_iso(data.get(start)), _iso(data.get(end))]
                conditions.append(Condition(field, "between", value))
        for name, (field, op) in RELATIVE_DATE_FILTERS.items():
            if name in data:
                conditions.append(Condition(field, op, data[name]))
        if data.get("group"):
            conditions.append(Condition("group", "in", [group.pk for group in data["group"]]))
        if data.get("tag"):
            mode = data.get("tag_mode") or "any"
            conditions.append(Condition("tag", mode, [tag.pk for tag in data["tag"]]))
        if data.get("country"):
            conditions.append(Condition("country", "in", data["country"]))
        if "marketing" in data:
            conditions.append(Condition("accepts_marketing", "is", data["marketing"] == "yes"))
        if "tax_exempt" in data:
            conditions.append(Condition("tax_exempt", "is", data["tax_exempt"] == "yes"))
        if data.get("state"):
            conditions.append(Condition("account_state", "in", list(data["state"])))
        if data.get("source"):
            conditions.append(Condition("source", "in", list(data["source"])))
        for field in self.custom_fields:
            conditions.extend(_custom_field_conditions(field, data))
        return conditions

    def chips(self) -> list[Chip]:
        """One removable chip per active filter (per value, for filters with several)."""
        data = self.cleaned
        params = self.data.copy() if isinstance(self.data, QueryDict) else QueryDict(mutable=True)
        chips: list[Chip] = []
        for name, value in data.items():
            if name == "tag_mode":
                continue
            label = self.filters[name].label
            if name in {"group", "tag", "state", "source"}:
                labelled = name in {"state", "source"}  # plain choices, not rows
                choices = dict(self.form.fields[name].choices) if labelled else {}
                for item in value:
                    key = str(getattr(item, "pk", item))
                    text = str(choices.get(item, item)) if labelled else str(item)
                    if name == "tag" and len(value) > 1:
                        mode = dict(TAG_MODES)[data.get("tag_mode") or "any"]
                        text = f"{text} ({mode})"
                    chips.append(Chip(f"{label}: {text}", _without(params, name, key)))
                continue
            text = dict(YES_NO)[value] if name in {"marketing", "tax_exempt"} else value
            if isinstance(text, list):
                text = ", ".join(text)
            chips.append(Chip(f"{label}: {_display(text, self.store)}", _without(params, name)))
        return chips


# Engine conditions back to the list's parameters: (field, op) -> (low, high) parameter.
RANGE_PARAMS = {
    "total_spent": ("spent_min", "spent_max"),
    "orders_count": ("orders_min", "orders_max"),
    "last_order_at": ("last_order_from", "last_order_to"),
    "customer_since": ("since_from", "since_to"),
}
FLAG_PARAMS = {"accepts_marketing": "marketing", "tax_exempt": "tax_exempt"}
RELATIVE_DATE_PARAMS = {condition: name for name, condition in RELATIVE_DATE_FILTERS.items()}


def filter_params(conditions: Iterable[Condition]) -> QueryDict | None:
    """The customer list's URL parameters that select the customers ``conditions`` select
    (the inverse of ``CustomerFilterSet.conditions``), or None when one of them is a
    condition the list's filters cannot express (a saved segment made elsewhere)."""
    params = QueryDict(mutable=True)
    for condition in conditions:
        field, op, value = condition.field, condition.op, condition.value
        if field == "search" and op == "contains":
            params.appendlist("q", str(value))
        elif (field, op) in RELATIVE_DATE_PARAMS:
            params[RELATIVE_DATE_PARAMS[field, op]] = str(value)
        elif field in RANGE_PARAMS and op in {"gte", "lte", "between"}:
            low, high = RANGE_PARAMS[field]
            bounds = value if op == "between" else [value, None] if op == "gte" else [None, value]
            for name, bound in zip((low, high), bounds, strict=True):
                if bound not in (None, ""):
                    params[name] = str(bound)
        elif field == "group" and op == "in":
            params.setlist("group", [str(pk) for pk in value])
        elif field == "tag" and op in {"any", "all"}:
            params.setlist("tag", [str(pk) for pk in value])
            params["tag_mode"] = op
        elif field == "country" and op == "in":
            params["country"] = ", ".join(value)
        elif field in FLAG_PARAMS and op == "is":
            params[FLAG_PARAMS[field]] = "yes" if value else "no"
        elif field == "account_state" and op == "in":
            params.setlist("state", list(value))
        elif field == "source" and op == "in":
            params.setlist("source", list(value))
        elif field == "custom_field" and isinstance(value, dict):
            name, wanted = f"{CUSTOM_FIELD_PREFIX}{value.get('key')}", value.get("value")
            if op in {"gte", "lte"}:
                dated = isinstance(wanted, str) and ISO_DATE.fullmatch(wanted)
                suffix = {"gte": "_from", "lte": "_to"} if dated else {"gte": "_min", "lte": "_max"}
                params[name + suffix[op]] = str(wanted)
            elif op == "is":
                params[name] = "yes" if wanted else "no"
            elif op == "in":
                params.setlist(name, [str(item) for item in wanted or []])
            elif op == "contains":
                params[name] = str(wanted)
            else:
                return None
        else:
            return None
    return params


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _display(value: Any, store: Store) -> str:
    """A chip's value as the list shows values: dates in the store's format."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 1E+3 -> 1000, 50.00 -> 50
    if isinstance(value, dt.date):
        return date_format(value, store.language)
    return str(value)


def _without(params: QueryDict, name: str, value: str | None = None) -> str:
    params = params.copy()
    for key in PAGING_PARAMS:
        params.pop(key, None)
    if value is None:
        params.pop(name, None)
    else:
        params.setlist(name, [item for item in params.getlist(name) if item != value])
    return "?" + urlencode(list(params.lists()), doseq=True)


# --- Custom fields: one or two filters per field, by type ------------------------------


def _custom_field_filters(field: CustomField) -> dict[str, django_filters.Filter]:
    name = f"{CUSTOM_FIELD_PREFIX}{field.key}"
    label = field.label
    if field.field_type == CustomFieldType.NUMBER:
        return {
            f"{name}_min": django_filters.NumberFilter(label=f"{label} ≥", method=_ignore),
            f"{name}_max": django_filters.NumberFilter(label=f"{label} ≤", method=_ignore),
        }
    if field.field_type == CustomFieldType.DATE:
        return {
            f"{name}_from": django_filters.DateFilter(
                label=f"{label} ≥", method=_ignore, widget=_date_widget()
            ),
            f"{name}_to": django_filters.DateFilter(
                label=f"{label} ≤", method=_ignore, widget=_date_widget()
            ),
        }
    if field.field_type == CustomFieldType.BOOLEAN:
        return {
            name: django_filters.ChoiceFilter(
                label=label, choices=YES_NO, method=_ignore, empty_label=_("Any")
            )
        }
    if field.field_type == CustomFieldType.CHOICE:
        choices = [(str(choice), str(choice)) for choice in field.choices or []]
        return {
            name: django_filters.MultipleChoiceFilter(label=label, choices=choices, method=_ignore)
        }
    return {name: django_filters.CharFilter(label=label, method=_ignore)}


def _custom_field_conditions(field: CustomField, data: dict[str, Any]) -> list[Condition]:
    name, key = f"{CUSTOM_FIELD_PREFIX}{field.key}", field.key
    conditions = []
    if field.field_type == CustomFieldType.NUMBER:
        for suffix, op in (("_min", "gte"), ("_max", "lte")):
            if name + suffix in data:
                value = {"key": key, "value": str(data[name + suffix])}
                conditions.append(Condition("custom_field", op, value))
    elif field.field_type == CustomFieldType.DATE:
        for suffix, op in (("_from", "gte"), ("_to", "lte")):
            if name + suffix in data:
                value = {"key": key, "value": data[name + suffix].isoformat()}
                conditions.append(Condition("custom_field", op, value))
    elif name in data:
        value = data[name]
        if field.field_type == CustomFieldType.BOOLEAN:
            conditions.append(
                Condition("custom_field", "is", {"key": key, "value": value == "yes"})
            )
        elif field.field_type == CustomFieldType.CHOICE:
            conditions.append(Condition("custom_field", "in", {"key": key, "value": list(value)}))
        else:
            conditions.append(Condition("custom_field", "contains", {"key": key, "value": value}))
    return conditions
