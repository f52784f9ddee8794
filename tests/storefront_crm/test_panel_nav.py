"""The panel menu marks the section the page belongs to, and only that one."""

import re

import pytest
from django.urls import reverse

from storefront_crm.jobs import job_start

pytestmark = pytest.mark.django_db


def _current_entries(html: str) -> list[str]:
    return re.findall(r'aria-current="page">(?:<small>)?([^<]+)<', html)


def test_an_import_job_page_is_under_customers_not_jobs(owner_client, store, owner):
    job = job_start(store=store, kind="customers.export", actor=owner, params={}, enqueue=False)
    url = reverse(
        "panel:customer_transfer_job", kwargs={"store_slug": store.slug, "job_id": job.pk}
    )

    html = owner_client.get(url).content.decode()

    assert _current_entries(html) == ["Customers", "Import / Export"]


@pytest.mark.parametrize(
    ("name", "kwargs", "entry"),
    [
        ("panel:jobs", {}, "Jobs"),
        ("panel:orders", {}, "Orders"),
        ("panel:staff", {}, "Settings"),
        ("panel:section", {"section": "reports"}, "Reports"),
    ],
)
def test_each_section_marks_its_own_entry(owner_client, store, name, kwargs, entry):
    html = owner_client.get(reverse(name, kwargs={"store_slug": store.slug, **kwargs})).content
    assert _current_entries(html.decode()) == [entry]


def test_the_cached_menu_is_per_role_language_and_store_name(client, owner_client, store):
    from tests.factories import MembershipFactory

    url = reverse("panel:customers", kwargs={"store_slug": store.slug})
    assert "Add customer" in owner_client.get(url).content.decode()
    support = MembershipFactory(store=store, role="support").user
    client.force_login(support)
    assert "Add customer" not in client.get(url).content.decode()  # not the owner's menu
    store.name = "Renamed shop"
    store.save()
    assert 'class="brand"' in (html := client.get(url).content.decode())
    assert ">Renamed shop</a>" in html
    german = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Kunden" in german
