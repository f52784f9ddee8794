"""Celery tasks of the tenancy core. Tasks take ids and call services."""

import redis
from celery import shared_task
from celery.signals import worker_ready
from django.db import InterfaceError, OperationalError

# Only these are worth retrying: a database or broker that is briefly away.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
)
# Far below the broker's visibility timeout (1 h), so a waiting retry is never redelivered.
MAX_RETRY_BACKOFF = 300


@shared_task(
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=MAX_RETRY_BACKOFF,
    retry_jitter=True,
    max_retries=6,
)
def run_job(job_id: int) -> None:
    from .jobs import job_execute

    job_execute(job_id, heartbeat=True)


@shared_task
def recover_jobs() -> list[int]:
    """Beat runs this every minute; workers also run it when they start."""
    from .jobs import jobs_recover

    return jobs_recover()


@worker_ready.connect
def _recover_jobs_at_start(**_kwargs: object) -> None:
    from .jobs import STALE_AFTER

    recover_jobs.delay()
    # A worker restarted right after it died finds its job's heartbeat still fresh: look
    # again once it is stale (beat does so every minute, where beat runs).
    recover_jobs.apply_async(countdown=STALE_AFTER.total_seconds() + 5)
