"""The store's activity page: imports, exports, deletions and setup changes, who and when;
owners and managers only; another store's events never show."""

import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse

from customers.io.importer import ImportOptions, customers_import
from customers.models import ActivityEvent
from customers.services.custom_fields import custom_field_create
from customers.services.customers import customer_delete
from customers.services.groups import group_create
from customers.services.tags import tag_rename
from storefront_crm.jobs import job_execute, job_start
from storefront_crm.tenancy import store_scope
from tests.factories import CustomerFactory, CustomerTagFactory
from tests.orders.test_order_io import HEADER

pytestmark = pytest.mark.django_db


def page(client, store) -> str:
    response = client.get(reverse("panel:store_activity", kwargs={"store_slug": store.slug}))
    assert response.status_code == 200
    return response.content.decode()


def test_store_wide_changes_are_listed_with_who_did_them(owner_client, store, owner):
    group_create(store=store, actor=owner, name="Wholesale", discount_percent="5")
    tag_rename(
        store=store, actor=owner, tag=CustomerTagFactory(store=store, name="vip"), name="VIP"
    )
    custom_field_create(store=store, actor=owner, label="Shoe size", field_type="number")
    customer_delete(store=store, customer=CustomerFactory(store=store, email="x@example.org"))
    CustomerFactory(store=store)  # a customer's own events stay on the profile

    html = page(owner_client, store)

    assert "Created the group “Wholesale” (discount 5 %)" in html
    assert "Renamed the tag “vip” to “VIP”" in html
    assert "Added the custom field “Shoe size”" in html
    assert "Deleted the customer x@example.org (0 orders kept without a profile)" in html
    assert html.count(f"<td>{owner.full_name or owner.email}</td>") == 3  # the 4th: no actor
    assert "Profile created" not in html


def test_imports_and_exports_in_the_browser_and_on_the_command_line(
    owner_client, store, owner, tmp_path
):
    data = b"Email,First Name\na@example.org,Ann\nb@example.org,Bo\n"
    customers_import(
        store=store,
        source=io.BytesIO(data),
        options=ImportOptions(format_name="native", actor=owner),
    )
    job = job_start(store=store, kind="customers.export", actor=owner, params={}, enqueue=False)
    job_execute(job.pk)
    call_command("export_customers", "--store", store.slug, "--output", str(tmp_path / "c.csv"))
    job = job_start(
        store=store, kind="orders.export", actor=owner, params={"what": "orders"}, enqueue=False
    )
    job_execute(job.pk)

    html = page(owner_client, store)

    assert "Imported customers (native): 2 created, 0 updated, 0 unchanged, 0 skipped" in html
    assert "Exported 2 customers</td>" in html
    assert "Exported 2 customers (command line)" in html
    assert "Exported 0 orders" in html
    exported = ActivityEvent.objects.filter(verb="customers.exported", actor=owner).get()
    assert exported.data["count"] == 2 and exported.data["selection"] is False


def test_an_order_import_is_recorded_but_not_its_dry_run(store, owner):
    source = f"{HEADER}\n7,2024-05-01,a@example.org,new,paid,,,,,,Mug,,2,5\n".encode()
    for dry_run in (True, False):
        job = job_start(
            store=store,
            kind="orders.import",
            actor=owner,
            params={"dry_run": dry_run},
            input_file=ContentFile(source, name="orders.csv"),
            enqueue=False,
        )
        job_execute(job.pk)

    event = ActivityEvent.objects.get(verb="orders.imported")
    assert event.actor == owner and event.data["created"] == 1


@pytest.mark.parametrize(("role", "status"), [("manager", 200), ("support", 403)])
def test_owners_and_managers_see_it_support_does_not(client, request, store, role, status):
    client.force_login(request.getfixturevalue(role))
    url = reverse("panel:store_activity", kwargs={"store_slug": store.slug})
    assert client.get(url).status_code == status
    sidebar = client.get(reverse("panel:customers", kwargs={"store_slug": store.slug}))
    assert (url in sidebar.content.decode()) is (status == 200)


def test_another_stores_events_never_show(owner_client, store, other_store, owner):
    with store_scope(other_store):
        group_create(store=other_store, actor=None, name="Theirs")

    assert "Theirs" not in page(owner_client, store)


def test_counts_read_in_singular_and_discounts_in_the_readers_language(store, owner):
    from django.utils import translation

    from customers.models import ActivityEvent
    from customers.views.store_activity import store_event_sentence

    deleted = ActivityEvent(verb="customer.deleted", data={"email": "a@b.c", "orders_detached": 1})
    assert store_event_sentence(deleted).endswith("(1 order kept without a profile)")
    old = ActivityEvent(verb="group.created", data={"group": "VIP", "discount_percent": "12.50"})
    assert store_event_sentence(old) == "Created the group “VIP” (discount 12.5 %)"
    with translation.override("de"):
        assert "12,5" in store_event_sentence(old)


def test_every_counted_sentence_is_translated():
    """Counted sentences go through ngettext at their call sites, where xgettext finds them."""
    from django.utils import translation

    from customers.models import ActivityEvent
    from customers.views.store_activity import store_event_sentence

    events = [
        ("customers.exported", {"count": 1}),
        ("orders.exported", {"count": 2, "what": "products"}),
        ("orders.exported", {"count": 2}),
        ("customer.deleted", {"email": "a@b.c", "orders_detached": 1}),
        ("group.deleted", {"group": "G", "moved": 2, "moved_to": "S"}),
        ("tag.merged", {"tag": "a", "into": "b", "moved": 1}),
        ("tag.deleted", {"tag": "a", "customers": 3}),
        ("custom_field.deleted", {"label": "L", "values_removed": 1}),
    ]
    for verb, data in events:
        event = ActivityEvent(verb=verb, data=data)
        english = store_event_sentence(event)
        with translation.override("de"):
            assert store_event_sentence(event) != english, verb
