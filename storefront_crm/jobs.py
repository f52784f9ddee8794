"""The one mechanism for long work: a ``Job`` row that a handler advances.

Feature apps register a handler per job kind with ``@job_handler("customers.import")``.
``job_start`` creates the row and enqueues ``run_job`` after the transaction commits;
``job_execute`` is the task body (also called directly by management commands, which pass
``on_progress`` to draw a terminal progress bar). Executing a finished job again does
nothing, so a redelivered task is harmless.

A job run by a worker has a heartbeat: a running job whose heartbeat stopped lost its worker
(killed, out of memory, machine gone) and is started again by ``jobs_recover`` (at worker
start and every minute from beat) instead of showing "running" until the broker redelivers
its message an hour later. Only one worker runs a job at a time: a job whose heartbeat is
fresh is left to the worker that has it.
"""

import datetime
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from django.core.files.base import File
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Q
from django.db.models.sql import UpdateQuery
from django.db.models.sql.constants import CURSOR
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Job, JobStatus, Store
from .tenancy import all_stores, store_scope

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[Job], None]

HEARTBEAT_SECONDS = 15
# A running job without a heartbeat for this long has lost its worker.
STALE_AFTER = datetime.timedelta(seconds=90)


class JobFailed(Exception):
    """A handler's clear, expected failure; its message is shown to the merchant."""


class JobContext:
    """What a handler gets: the job row and ways to report progress.

    Progress stays visible while a handler holds a transaction open around all its work
    (an all-or-nothing import): written inside it, it would show only at the end and lock
    the job row until then. On PostgreSQL it then goes through a short-lived connection of
    its own."""

    def __init__(self, job: Job, on_progress: ProgressCallback | None = None) -> None:
        self.job = job
        self._on_progress = on_progress
        # A worker or a command starts outside any transaction; inside one (a test's), a
        # second connection would not see the job row.
        self._aside_usable = connection.vendor == "postgresql" and not connection.in_atomic_block
        self._aside: Any = None

    @property
    def store(self) -> Store:
        return self.job.store

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    def progress(self, done: int, total: int | None = None, **counts: int) -> None:
        self.job.progress_done = done
        if total is not None:
            self.job.progress_total = total
        if counts:
            self.job.counts = {**self.job.counts, **counts}
        values = {
            "progress_done": self.job.progress_done,
            "progress_total": self.job.progress_total,
            "counts": self.job.counts,
        }
        if self._aside_usable and connection.in_atomic_block:
            self._progress_aside(values)
        else:
            Job.objects.filter(pk=self.job.pk).update(**values)
        if self._on_progress:
            self._on_progress(self.job)

    def _progress_aside(self, values: dict[str, Any]) -> None:
        if self._aside is None:
            self._aside = connections.create_connection(DEFAULT_DB_ALIAS)
            with self._aside.cursor() as cursor:
                # Progress is not worth waiting for: should the job row be locked (by the
                # handler's transaction), this update is left out.
                cursor.execute("SET lock_timeout = '1s'")
        query = UpdateQuery(Job)
        query.add_update_values(values)
        query.add_q(Q(pk=self.job.pk))
        try:
            query.get_compiler(connection=self._aside).execute_sql(CURSOR)
        except DatabaseError:
            logger.warning("Job %s: progress not recorded", self.job.pk, exc_info=True)

    def close(self) -> None:
        if self._aside is not None:
            self._aside.close()
            self._aside = None

    def add_errors(self, errors: list[dict[str, Any]]) -> None:
        self.job.errors = [*self.job.errors, *errors]
        Job.objects.filter(pk=self.job.pk).update(errors=self.job.errors)

    def save_result(self, filename: str, content: File) -> None:
        self.job.result_file.save(filename, content, save=False)
        Job.objects.filter(pk=self.job.pk).update(result_file=self.job.result_file.name)


JobHandler = Callable[[JobContext], str | None]
_HANDLERS: dict[str, JobHandler] = {}
# The permission that downloading a kind's result file needs (an export holds customer data).
_RESULT_PERMISSIONS: dict[str, str] = {}
# What the jobs pages call each kind ("Customer import", not "customers.import"), and the
# counts it reports.
_LABELS: dict[str, Any] = {}
_COUNT_LABELS: dict[str, dict[str, Any]] = {}
# Counts any kind may report.
COUNT_LABELS = {
    "created": gettext_lazy("Created"),
    "updated": gettext_lazy("Updated"),
    "unchanged": gettext_lazy("Unchanged"),
    "skipped": gettext_lazy("Skipped"),
    "problems": gettext_lazy("Problems"),
    "restarts": gettext_lazy("Restarts after a lost worker"),
}


def job_handler(
    kind: str,
    *,
    label: Any = None,
    count_labels: dict[str, Any] | None = None,
    result_permission: str = "jobs.view",
) -> Callable[[JobHandler], JobHandler]:
    """Register the handler of ``kind``; ``label`` (a lazy translation) names it on pages,
    ``count_labels`` name the counts it reports beyond the common ``COUNT_LABELS``."""

    def register(handler: JobHandler) -> JobHandler:
        _HANDLERS[kind] = handler
        _RESULT_PERMISSIONS[kind] = result_permission
        _LABELS[kind] = label or kind
        _COUNT_LABELS[kind] = {**COUNT_LABELS, **(count_labels or {})}
        return handler

    return register


def job_result_permission(kind: str) -> str:
    return _RESULT_PERMISSIONS.get(kind, "jobs.view")


def job_kind_label(kind: str) -> str:
    return str(_LABELS.get(kind, kind))


def job_counts_labelled(kind: str, counts: dict[str, Any]) -> list[tuple[str, Any]]:
    labels = _COUNT_LABELS.get(kind, COUNT_LABELS)
    return [(str(labels.get(key, key.replace("_", " "))), value) for key, value in counts.items()]


def job_start(
    *,
    store: Store,
    kind: str,
    actor: Any = None,
    params: dict[str, Any] | None = None,
    input_file: File | None = None,
    enqueue: bool = True,
) -> Job:
    """Create a queued job; its task is enqueued only once the transaction commits."""
    if kind not in _HANDLERS:
        raise ValueError(f"No handler for job kind {kind!r}")
    job = Job(
        store=store,
        kind=kind,
        params=params or {},
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    with store_scope(store):
        job.save()
        if input_file is not None:
            job.input_file.save(input_file.name or "input", input_file, save=True)
    if enqueue:
        from .tasks import run_job

        transaction.on_commit(lambda: run_job.delay(job.pk))
    return job


def job_execute(
    job_id: int, on_progress: ProgressCallback | None = None, *, heartbeat: bool = False
) -> Job | None:
    """Run a job's handler once; safe to call again for the same id. ``heartbeat`` (workers)
    keeps the job's heartbeat fresh while it runs, so that it is started again should the
    worker die."""
    with all_stores(), transaction.atomic():
        job = Job.objects.select_for_update().select_related("store").filter(pk=job_id).first()
        if job is None or job.is_finished:
            return job
        now = timezone.now()
        beating = job.heartbeat_at is not None and now - job.heartbeat_at < STALE_AFTER
        if job.status == JobStatus.RUNNING and beating:
            return job  # another worker runs it (a redelivered or repeated message)
        if job.status == JobStatus.RUNNING:  # its worker stopped: run it again
            job.counts = {**job.counts, "restarts": job.counts.get("restarts", 0) + 1}
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or now
        job.attempts += 1
        job.heartbeat_at = now if heartbeat else None
        job.save(update_fields=["status", "started_at", "attempts", "heartbeat_at", "counts"])
    handler = _HANDLERS[job.kind]
    context = JobContext(job, on_progress)
    pulse = _Heartbeat(job.pk) if heartbeat and connection.vendor == "postgresql" else None
    with store_scope(job.store):
        try:
            try:
                if pulse:
                    pulse.start()
                message = handler(context)
            finally:
                context.close()
                if pulse:
                    pulse.stop()
        except JobFailed as failure:
            _finish(job, JobStatus.FAILED, str(failure))
        except KeyboardInterrupt:  # a command stopped with Ctrl-C
            _finish(job, JobStatus.FAILED, _("Stopped before it finished."))
            raise
        except Exception as error:
            from .tasks import TRANSIENT_ERRORS

            if isinstance(error, TRANSIENT_ERRORS):
                Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
                raise
            logger.exception("Job %s failed", job.pk)
            _finish(
                job,
                JobStatus.FAILED,
                _("The job stopped on an unexpected error: %(error)s")
                % {"error": traceback.format_exception_only(error)[-1].strip()},
            )
        else:
            if job.counts.get("restarts"):
                message = "\n".join(
                    [message or "", _("Its worker stopped during the run; it was started again.")]
                ).strip()
            _finish(job, JobStatus.SUCCEEDED, message or "")
    return job


def jobs_recover() -> list[int]:
    """Start again the running jobs whose heartbeat stopped (their worker died)."""
    from .tasks import run_job

    cutoff = timezone.now() - STALE_AFTER
    with all_stores(), transaction.atomic():
        # A row locked by a transaction is a job whose handler is alive (it holds its own
        # row; the heartbeat then waits for that lock): skipped, not started twice.
        stale = list(
            Job.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
            .values_list("pk", flat=True)
        )
    for job_id in stale:
        logger.warning("Job %s lost its worker; starting it again", job_id)
        run_job.delay(job_id)
    return stale


class _Heartbeat(threading.Thread):
    """Writes a job's heartbeat every few seconds, from a connection of its own, while the
    handler runs (whatever transaction the handler holds open)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id = job_id
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.wait(HEARTBEAT_SECONDS):
                try:
                    with all_stores():
                        Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                            heartbeat_at=timezone.now()
                        )
                except DatabaseError:
                    logger.warning("Job %s: heartbeat not written", self.job_id, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def _finish(job: Job, status: str, message: str) -> None:
    job.status = status
    job.message = message
    job.finished_at = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        status=status, message=message, finished_at=job.finished_at
    )
