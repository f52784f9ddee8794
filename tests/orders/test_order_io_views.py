"""The Export buttons of the orders page: roles, the job page, the download, isolation."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.services import ItemInput, order_create
from storefront_crm.models import Job, JobStatus
from storefront_crm.tenancy import store_scope
from tests.factories import MembershipFactory


def url(name: str, **kwargs) -> str:
    return reverse(f"panel:{name}", kwargs={"store_slug": "alpha", **kwargs})


def download(client, job: Job) -> list[dict[str, str]]:
    response = client.get(url("job_download", job_id=job.pk))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "manager"])
def test_export_runs_as_a_job_and_ends_with_a_download(
    client, request, role, store, other_store, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(role)
    client.force_login(user)
    order_create(store=store, email="a@example.org", items=[ItemInput("Mug", Decimal("5"))])
    order_create(store=store, email="b@example.org", items=[ItemInput("Cup", Decimal("3"))])
    with store_scope(other_store):
        order_create(store=other_store, email="theirs@example.org", items=[ItemInput("X", 1)])

    assert "Export orders" in client.get(url("orders")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("order_export"), {"what": "orders"})

    job = Job.objects.get()
    assert response.url == url("job", job_id=job.pk)
    assert job.kind == "orders.export" and job.status == JobStatus.SUCCEEDED
    assert job.created_by == user
    page = client.get(response.url).content.decode()
    assert url("job_download", job_id=job.pk) in page
    assert [row["Email"] for row in download(client, job)] == ["a@example.org", "b@example.org"]


@pytest.mark.django_db
def test_ordered_products_export_with_dates_and_status_filter(
    owner_client, store, django_capture_on_commit_callbacks
):
    order_create(store=store, email="a@example.org", items=[ItemInput("Mug", 5, quantity=4)])

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            url("order_export"),
            {"what": "products", "date_from": "2000-01-01", "date_to": "2999-12-31"},
        )
        owner_client.post(url("order_export"), {"what": "orders", "status": "cancelled"})

    products, cancelled = Job.objects.order_by("pk")
    assert [(r["Product"], r["Quantity Sold"]) for r in download(owner_client, products)] == [
        ("Mug", "4")
    ]
    assert download(owner_client, cancelled) == []


@pytest.mark.django_db
def test_bad_dates_start_no_job(owner_client, django_capture_on_commit_callbacks):
    response = owner_client.post(
        url("order_export"), {"what": "orders", "date_from": "2024-05-02", "date_to": "2024-05-01"}
    )

    assert response.url == url("orders")
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_support_cannot_export_nor_download(
    client, support, owner, store, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("order_export"), {"what": "orders"})
    job = Job.objects.get()
    client.force_login(support)

    assert "Export orders" not in client.get(url("orders")).content.decode()
    assert client.post(url("order_export"), {"what": "orders"}).status_code == 403
    assert client.get(url("job_download", job_id=job.pk)).status_code == 403
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_another_stores_export_job_is_not_reachable(
    client, store, other_store, django_capture_on_commit_callbacks
):
    theirs = MembershipFactory(store=other_store, role="owner").user
    client.force_login(theirs)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("panel:order_export", kwargs={"store_slug": "beta"}), {"what": "orders"}
        )
    with store_scope(other_store):
        job = Job.objects.get()
        assert job.status == JobStatus.SUCCEEDED and job.result_file
    mine = MembershipFactory(store=store, role="owner").user
    client.force_login(mine)

    assert client.get(url("job_download", job_id=job.pk)).status_code == 404
