import os
import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from storefront_crm import jobs
from storefront_crm.jobs import JobFailed, job_execute, job_handler, job_start, jobs_recover
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


# --- A worker that dies: heartbeat, one runner at a time, recovery ------------------------


def _running(store, *, beat_ago: float) -> Job:
    job = job_start(store=store, kind="test.count_to", params={"n": 2}, enqueue=False)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now() - timedelta(seconds=beat_ago),
    )
    return job


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_started_again_and_says_so(store):
    job = _running(store, beat_ago=300)

    assert jobs_recover() == [job.pk]  # with eager Celery the job runs right here

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert job.counts == {"restarts": 1, "counted": 2}
    assert job.message == "Counted to 2.\nIts worker stopped during the run; it was started again."


@pytest.mark.django_db
def test_a_running_job_with_a_fresh_heartbeat_is_left_to_its_worker(store):
    job = _running(store, beat_ago=5)
    calls = len(CALLS)

    assert jobs_recover() == []
    job_execute(job.pk, heartbeat=True)  # a redelivered message for the same job

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.attempts == 1 and len(CALLS) == calls


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
    reason="row locks between two connections: PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_handler_holds_its_own_row_is_not_taken_for_lost(store):
    """A handler may lock its job's row in a long transaction; the heartbeat waits for that
    lock, but recovery sees the lock and leaves the job alone."""
    import psycopg
    from django.db import connection

    job = _running(store, beat_ago=300)
    settings = connection.settings_dict
    handler_side = psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    )
    try:
        handler_side.execute("SELECT 1 FROM storefront_crm_job WHERE id = %s FOR UPDATE", [job.pk])
        assert jobs_recover() == []
    finally:
        handler_side.rollback()
        handler_side.close()
    assert jobs_recover() == [job.pk]  # once the lock is gone, the stale job is restarted


@job_handler("test.slow")
def slow(ctx) -> str:
    time.sleep(0.4)
    return "slept"


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
    reason="the heartbeat runs on PostgreSQL (a second connection beside the handler's)",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_the_heartbeat_of_its_job_fresh(store, monkeypatch):
    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.05)
    job = job_start(store=store, kind="test.slow", enqueue=False)

    job_execute(job.pk, heartbeat=True)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert (job.heartbeat_at - job.started_at).total_seconds() >= 0.2  # beats during the run


@job_handler("test.interrupted")
def interrupted(ctx) -> None:
    raise KeyboardInterrupt


@pytest.mark.django_db
def test_a_command_stopped_with_ctrl_c_leaves_a_failed_job_not_a_running_one(store):
    job = job_start(store=store, kind="test.interrupted", enqueue=False)

    with pytest.raises(KeyboardInterrupt):
        job_execute(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.message == "Stopped before it finished."


@pytest.mark.django_db
def test_the_jobs_pages_name_kinds_in_the_merchants_language(owner_client, store, owner):
    job = job_start(store=store, kind="customers.import", actor=owner, params={}, enqueue=False)
    Job.objects.filter(pk=job.pk).update(
        message="First line\nSecond line", counts={"created": 3, "committed_batches": 1}
    )
    listing = owner_client.get(f"/store/{store.slug}/jobs/", HTTP_ACCEPT_LANGUAGE="de")
    assert "<td>Kundenimport</td>" in listing.content.decode()
    detail = owner_client.get(f"/store/{store.slug}/jobs/{job.pk}/").content.decode()
    assert f"<h1>Customer import #{job.pk}</h1>" in detail
    assert "First line<br>Second line" in detail
    assert "<li>Created: 3</li>" in detail and "<li>Batches saved: 1</li>" in detail
