"""The browser flow of import and export: roles, preview, confirm, downloads, logging."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer
from storefront_crm.models import Job, JobStatus

SAMPLES = Path(__file__).parent / "samples"


def upload(name: str = "shopify_current.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (SAMPLES / name).read_bytes(), content_type="text/csv")


def url(name: str, **kwargs) -> str:
    return reverse(f"panel:{name}", kwargs={"store_slug": "alpha", **kwargs})


@pytest.mark.django_db
def test_support_cannot_import_or_export(client, support, django_capture_on_commit_callbacks):
    client.force_login(support)

    assert client.get(url("customer_transfer")).status_code == 403
    assert (
        client.post(url("customer_transfer"), {"file": upload(), "format": "auto"}).status_code
        == 403
    )
    assert client.post(url("customer_transfer_export")).status_code == 403
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "manager"])
def test_preview_then_confirm_imports(client, request, role, django_capture_on_commit_callbacks):
    user = request.getfixturevalue(role)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("customer_transfer"), {"file": upload(), "format": "auto"})
    preview = Job.objects.get()
    assert response.url == url("customer_transfer_job", job_id=preview.pk)
    page = client.get(response.url).content.decode()
    preview.refresh_from_db()
    assert preview.status == JobStatus.SUCCEEDED and preview.params["dry_run"]
    assert preview.created_by == user
    assert Customer.objects.count() == 0
    assert "Would be created" in page and "shopify" in page and "Import now" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("customer_transfer_confirm", job_id=preview.pk),
            {"format": "shopify", "on_error": "abort"},
        )
    job = Job.objects.exclude(pk=preview.pk).get()
    assert job.status == JobStatus.SUCCEEDED and not job.params["dry_run"]
    assert Customer.objects.count() == 2
    page = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-count="created">2<' in page
    assert "hx-get" not in page  # finished: polling stops


@pytest.mark.django_db
def test_the_imported_customers_can_be_tagged_and_listed(
    client, owner, django_capture_on_commit_callbacks
):
    from customers.models import CustomerTag

    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url("customer_transfer"), {"file": upload(), "format": "auto", "tag": "From Shopify"}
        )
    preview = Job.objects.get()
    assert preview.params["tag"] == "From Shopify"
    page = client.get(url("customer_transfer_job", job_id=preview.pk)).content.decode()
    assert "Every customer of the file would be tagged “From Shopify”." in page
    assert not CustomerTag.objects.filter(name="From Shopify").exists()  # a dry run

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("customer_transfer_confirm", job_id=preview.pk),
            {"format": "shopify", "on_error": "abort"},
        )
    job = Job.objects.exclude(pk=preview.pk).get()
    tag = CustomerTag.objects.get(name="From Shopify")
    assert job.params["tag_id"] == tag.pk
    page = client.get(response.url).content.decode()
    link = f"{reverse('panel:customers', kwargs={'store_slug': 'alpha'})}?tag={tag.pk}"
    assert f'href="{link}"' in page and "Show the customers tagged “From Shopify”" in page
    listed = client.get(link).content.decode()
    assert "anna.schmidt@example.com" in listed and "bob@example.com" in listed


@pytest.mark.django_db
def test_problems_are_listed_with_a_downloadable_report(
    owner_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            url("customer_transfer"), {"file": upload("errors.csv"), "format": "auto"}
        )
    page = owner_client.get(response.url).content.decode()
    assert "Unknown country" in page and "Download the error report" in page

    job = Job.objects.get()
    report = owner_client.get(url("customer_transfer_download", job_id=job.pk))
    assert report.status_code == 200
    assert b"Narnia" in b"".join(report.streaming_content)


@pytest.mark.django_db
def test_export_job_ends_with_a_permission_checked_download(
    owner_client, store, support, client, django_capture_on_commit_callbacks
):
    from tests.factories import CustomerFactory

    CustomerFactory(store=store, email="x@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("customer_transfer_export"))
    job = Job.objects.get(kind="customers.export")
    page = owner_client.get(response.url).content.decode()
    assert "Download the export" in page

    download = owner_client.get(url("customer_transfer_download", job_id=job.pk))
    assert b"x@example.com" in b"".join(download.streaming_content)
    client.force_login(support)
    assert client.get(url("customer_transfer_download", job_id=job.pk)).status_code == 403


@pytest.mark.django_db
def test_a_foreign_job_is_not_found(owner_client, other_store, unscoped):
    from tests.factories import JobFactory

    foreign = JobFactory(store=other_store, kind="customers.export")

    assert owner_client.get(url("customer_transfer_job", job_id=foreign.pk)).status_code == 404
    assert owner_client.get(url("customer_transfer_download", job_id=foreign.pk)).status_code == 404
