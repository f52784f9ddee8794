import os
import time

import pytest
from django.db import OperationalError

from storefront_crm.jobs import JobFailed, job_execute, job_handler, job_start
from storefront_crm.models import Job, JobStatus

CALLS: list[int] = []


@job_handler("test.count_to")
def count_to(ctx) -> str:
    total = ctx.params["n"]
    for done in range(1, total + 1):
        ctx.progress(done, total, counted=done)
    CALLS.append(ctx.job.pk)
    if ctx.params.get("problem"):
        ctx.add_errors([{"row": 3, "column": "email", "message": "not an email"}])
    return f"Counted to {total}."


@job_handler("test.refuse")
def refuse(ctx) -> None:
    raise JobFailed("The file has no Email column.")


@job_handler("test.crash")
def crash(ctx) -> None:
    raise ZeroDivisionError("boom")


@job_handler("test.database_away")
def database_away(ctx) -> None:
    raise OperationalError("connection refused")


@pytest.mark.django_db
def test_a_job_is_enqueued_after_commit_and_advanced_by_its_task(
    store, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_start(
            store=store, kind="test.count_to", actor=owner, params={"n": 4, "problem": True}
        )
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED  # nothing ran inside the transaction
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.percent) == (4, 4, 100)
    assert job.counts == {"counted": 4}
    assert job.errors == [{"row": 3, "column": "email", "message": "not an email"}]
    assert job.message == "Counted to 4."
    assert job.created_by == owner
    assert job.finished_at is not None


@pytest.mark.django_db
def test_running_a_finished_job_again_does_nothing(store):
    job = job_start(store=store, kind="test.count_to", params={"n": 2}, enqueue=False)
    job_execute(job.pk)
    calls = CALLS.count(job.pk)
    job_execute(job.pk)
    assert CALLS.count(job.pk) == calls
    assert Job.objects.get(pk=job.pk).attempts == 1


@pytest.mark.django_db
def test_a_handler_refusal_fails_the_job_with_its_message(store):
    job = job_start(store=store, kind="test.refuse", enqueue=False)
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "The file has no Email column."


@pytest.mark.django_db
def test_an_unexpected_error_fails_the_job_and_says_what(store):
    job = job_start(store=store, kind="test.crash", enqueue=False)
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "ZeroDivisionError: boom" in job.message


@pytest.mark.django_db
def test_a_transient_error_puts_the_job_back_in_the_queue_for_a_retry(store):
    job = job_start(store=store, kind="test.database_away", enqueue=False)
    with pytest.raises(OperationalError):
        job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_retry_backoff_stays_below_the_brokers_visibility_timeout(settings):
    from storefront_crm.tasks import MAX_RETRY_BACKOFF, run_job

    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > MAX_RETRY_BACKOFF
    assert run_job.retry_backoff_max == MAX_RETRY_BACKOFF


@pytest.mark.django_db
def test_the_job_page_polls_until_the_job_is_finished(owner_client, store):
    job = job_start(store=store, kind="test.count_to", params={"n": 1}, enqueue=False)
    page = owner_client.get(f"/store/{store.slug}/jobs/{job.pk}/", HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 1s"' in page.content
    job_execute(job.pk)
    page = owner_client.get(f"/store/{store.slug}/jobs/{job.pk}/", HTTP_HX_REQUEST="true")
    assert b"hx-trigger" not in page.content
    assert b"Counted to 1." in page.content


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a real broker)")
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_runs_a_job_through_redis(store):
    from celery.contrib.testing.worker import start_worker

    from storefront_crm.celery import app

    app.conf.task_always_eager = False
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
            job = job_start(store=store, kind="test.count_to", params={"n": 3})
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.is_finished:
                    break
                time.sleep(0.2)
    finally:
        app.conf.task_always_eager = True
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress_done == 3


@job_handler("test.export_like", result_permission="customers.export")
def export_like(ctx) -> str:
    from django.core.files.base import ContentFile

    ctx.save_result("customers.csv", ContentFile(b"email\nanna@example.org\n"))
    return "done"


@pytest.mark.django_db
def test_a_result_file_is_served_only_to_roles_allowed_its_data(client, store):
    from tests.factories import MembershipFactory

    job = job_start(store=store, kind="test.export_like", enqueue=False)
    job_execute(job.pk)
    url = f"/store/{store.slug}/jobs/{job.pk}/download/"
    client.force_login(MembershipFactory(store=store, role="support").user)
    assert client.get(url).status_code == 403
    client.force_login(MembershipFactory(store=store, role="manager").user)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"email\nanna@example.org\n"
    assert client.get(f"/media/{job.result_file.name}").status_code == 404
