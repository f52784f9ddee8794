"""Odd input never answers 500: every list parameter and every form of the panel, walked
with a table of odd values (NUL characters, numbers past any column, non-ASCII digits,
impossible dates, very long text, SQL and HTML fragments).

Probing found 500s here: ``orders_min=99999999999999999999`` (EmptyResultSet), huge
``last_order_within`` / ``since_within`` (OverflowError), NUL bytes in the orders search,
a bulk tag name and a segment name (PostgreSQL refuses NUL). New pages and forms are
walked automatically: the URLs come from the URLconf, the forms from the pages' HTML.
"""

from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from customers.filters import CustomerFilterSet
from customers.models import Customer, CustomerTag, CustomFieldType
from segments.models import Segment
from storefront_crm.request_input import id_param, without_nul
from tests.factories import CustomerFactory, CustomFieldFactory, OrderFactory
from tests.panel_urls import panel_urls, rows_of_every_model

pytestmark = pytest.mark.django_db

ODD_VALUES = [
    "\x00",
    "vip\x00",
    "99999999999999999999",
    "-99999999999999999999",
    "-1",
    "1e400",
    "NaN",
    "Infinity",
    "1.5",
    "²",
    "١٢",
    "2024-02-30",
    "0000-00-00",
    "9999-12-31",
    "' OR 1=1 --",
    "%_\\",
    "<script>alert(1)</script>",
    "x" * 5000,
    " ",
]
# Hidden fields carry ids and the state of a step: fewer values, still the worst ones.
ODD_HIDDEN_VALUES = ["\x00", "99999999999999999999", "²", "-1"]
# Parameters that position or order a page rather than filter it.
PAGE_PARAMS = ("sort", "page", "after", "before", "panel", "status", "customer", "q")


def _custom_fields(store):
    return [
        CustomFieldFactory(store=store, key=f"odd_{kind}", label=f"Odd {kind}", field_type=kind)
        for kind in CustomFieldType.values
    ]


def _list_parameters(store) -> list[str]:
    filters = CustomerFilterSet({}, store=store)
    return [*filters.filters, *PAGE_PARAMS]


def test_every_list_parameter_with_every_odd_value_answers_without_a_server_error(
    owner_client, store
):
    for field in _custom_fields(store):
        if field.field_type == CustomFieldType.CHOICE:
            field.choices = ["S", "M"]
            field.save()
    CustomerFactory(store=store, email="ann@example.org")
    list_url = reverse("panel:customers", kwargs={"store_slug": store.slug})
    panel_url = reverse("panel:customers_filter_panel", kwargs={"store_slug": store.slug})
    orders_url = reverse("panel:orders", kwargs={"store_slug": store.slug})
    names = _list_parameters(store)
    assert {"orders_min", "last_order_within", "since_within", "cf_odd_number_min"} <= set(names)
    failures = []
    for name in names:
        for value in ODD_VALUES:
            query = urlencode({name: value})
            for url in (list_url, panel_url, orders_url):
                try:
                    status = owner_client.get(f"{url}?{query}").status_code
                except Exception as error:  # noqa: BLE001 - the test client re-raises
                    status = f"{type(error).__name__}: {error}"[:200]
                if not isinstance(status, int) or status >= 500:
                    failures.append((url, name, repr(value[:20]), status))
    assert not failures, "\n".join(map(str, failures))


@pytest.mark.parametrize(
    "query",
    ["orders_min=99999999999999999999", "last_order_within=99999999999", "since_within=1e9"],
)
def test_numbers_past_any_column_are_a_filter_error_that_lists_nobody(owner_client, store, query):
    CustomerFactory(store=store, email="ann@example.org")
    url = reverse("panel:customers", kwargs={"store_slug": store.slug})
    response = owner_client.get(f"{url}?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "no customers are listed" in html and "ann@example.org" not in html


def test_a_nul_in_the_search_is_dropped(owner_client, store):
    CustomerFactory(store=store, email="ann@example.org", first_name="Ann")
    OrderFactory(store=store, email="ann@example.org", customer=None)
    url = reverse("panel:customers", kwargs={"store_slug": store.slug})
    assert b"ann@example.org" in owner_client.get(url, {"q": "an\x00n"}).content
    orders = reverse("panel:orders", kwargs={"store_slug": store.slug})
    assert b"ann@example.org" in owner_client.get(orders, {"q": "ann\x00"}).content


def test_a_nul_in_a_bulk_tag_name_and_a_segment_name_is_dropped(owner_client, store):
    customer = CustomerFactory(store=store)
    bulk = reverse("panel:customers_bulk", kwargs={"store_slug": store.slug})
    owner_client.post(
        bulk, {"action": "tag_add", "scope": "selected", "ids": [customer.pk], "tag": "v\x00ip"}
    )
    assert list(CustomerTag.objects.filter(store=store).values_list("name", flat=True)) == ["vip"]
    segment = reverse("panel:segment_create", kwargs={"store_slug": store.slug})
    owner_client.post(segment, {"query": "q=ann\x00", "name": "Big\x00 spenders"})
    saved = Segment.objects.get(store=store)
    assert saved.name == "Big spenders" and "\x00" not in str(saved.conditions)


def test_parameters_lose_their_nul_in_one_place():
    from django.http import QueryDict

    cleaned = without_nul(QueryDict("a%00=b%00c&a=d"))
    assert list(cleaned.lists()) == list(QueryDict("a=bc&a=d").lists())
    assert [id_param(v) for v in ("12", " 7 ", "²", "١٢", "-1", "9" * 19, "", None)] == [
        12,
        7,
        None,
        None,
        None,
        None,
        None,
        None,
    ]


# --- Every form of every panel page ---------------------------------------------------


class FormReader(HTMLParser):
    """The POST forms of a page: their action, enctype and fields (name, kind, value)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form" and found.get("method", "get").lower() == "post":
            self._form = {
                "action": found.get("action", ""),
                "multipart": "multipart" in found.get("enctype", ""),
                "fields": [],
            }
            self.forms.append(self._form)
        elif self._form is not None and tag in {"input", "textarea", "select"} and "name" in found:
            kind = found.get("type", "text").lower() if tag == "input" else tag
            if kind not in {"submit", "button", "reset", "image"}:
                self._form["fields"].append((found["name"], kind, found.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _filled(fields, value: str, *, hidden_too: bool) -> dict:
    data: dict[str, list] = {}
    for name, kind, given in fields:
        if name == "csrfmiddlewaretoken":
            continue
        if kind == "file":
            data.setdefault(name, []).append(
                SimpleUploadedFile("odd.csv", ("email,first_name\na@b.c," + value).encode())
            )
        elif kind == "hidden" and not hidden_too:
            data.setdefault(name, []).append(given)
        else:
            data.setdefault(name, []).append(value)
    return data


def test_every_form_of_the_panel_with_odd_values_answers_without_a_server_error(
    owner_client, store
):
    _custom_fields(store)
    rows = rows_of_every_model(store)
    forms: dict[tuple[str, str], dict] = {}
    for _name, url, _names_a_row in panel_urls(store.slug, rows):
        response = owner_client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        reader = FormReader()
        reader.feed(response.content.decode())
        for form in reader.forms:
            action = form["action"] or url
            if not urlsplit(action).path.startswith(f"/store/{store.slug}/"):
                continue  # sign-out and the store picker leave the panel
            forms.setdefault((action, ",".join(f[0] for f in form["fields"])), form)
    assert len(forms) >= 20, f"only {len(forms)} forms found"
    failures = []
    for (action, _names), form in forms.items():
        runs = [(value, False) for value in ODD_VALUES] + [
            (value, True) for value in ODD_HIDDEN_VALUES
        ]
        for value, hidden_too in runs:
            data = _filled(form["fields"], value, hidden_too=hidden_too)
            # Each submission is undone, so that every form meets the rows it was made for.
            with transaction.atomic():
                try:
                    response = owner_client.post(action, data)
                    status = response.status_code
                except Exception as error:  # noqa: BLE001 - the test client re-raises
                    status = f"{type(error).__name__}: {error}"[:200]
                transaction.set_rollback(True)
            if not isinstance(status, int) or status >= 500:
                failures.append((action, repr(value[:20]), hidden_too, status))
    assert not failures, "\n".join(map(str, failures))
    assert Customer.objects.filter(store=store).exists()
