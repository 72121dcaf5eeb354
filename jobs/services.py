"""Creating, cancelling, retrying and recovering jobs: the rules every entry point shares."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from jobs.models import EXECUTING_STATUSES, TERMINAL_STATUSES, Job, JobStatus
from jobs.types import REGISTRY, get_kind
from orchestrator.job_queue import JobRequestError
from orchestrator.live.signals import status_changed
from orchestrator.returning import update_returning

logger = logging.getLogger(__name__)


class JobError(JobRequestError):
    """A request about a job that cannot be honoured; `errors` maps fields to messages."""


class JobStateError(JobError):
    """The job is in a state that does not allow the action (e.g. cancelling a finished job)."""


def validate_job_request(job_type, parameters) -> dict:
    """Return the cleaned parameters for a new job of `job_type`, or raise JobError."""
    kind = get_kind(job_type) if isinstance(job_type, str) else None
    if kind is None:
        known = ", ".join(sorted(REGISTRY))
        raise JobError(
            f"Unknown job type {job_type!r}. Available job types: {known}.",
            {"type": [f"Unknown job type. Available job types: {known}."]},
        )
    if parameters is None:
        parameters = {}
    clean, errors = kind.parameters.validate(parameters)
    if not errors and kind.check is not None:
        errors = kind.check(clean)
    if errors:
        raise JobError(f"Invalid parameters for a {job_type} job.", {"parameters": errors})
    return clean


def create_job(
    job_type: str, parameters=None, *, created_by: str = "", requested_by: str = "", parent=None, retry_of=None
) -> Job:
    """Validate and enqueue a job; a worker picks it up. Raises JobError on bad input. `created_by` names
    the daemon that launched it, `requested_by` the account that asked for it (a page or the API)."""
    return enqueue_validated(
        job_type,
        validate_job_request(job_type, parameters),
        created_by=created_by,
        requested_by=requested_by,
        parent=parent,
        retry_of=retry_of,
    )


def enqueue_validated(
    job_type: str, clean: dict, *, created_by: str = "", requested_by: str = "", parent=None, retry_of=None
) -> Job:
    """Enqueue a job whose parameters validate_job_request() already cleaned: for a caller that must not
    validate inside its transaction (a check may ask Stash, and a held row lock must not wait on it)."""
    return Job.objects.create(
        type=job_type,
        parameters=clean,
        created_by=created_by,
        requested_by=requested_by[:150],
        parent=parent,
        retry_of=retry_of,
        message="Waiting for a worker",
    )


def cancel_job(job: Job) -> Job:
    """Cancel a job: a pending one at once, a running one cooperatively (running → cancelling).

    Compare-and-set on the status, so a worker claiming the job at the same moment either sees it
    cancelled (and never runs it) or has already claimed it (and we request cooperative cancellation).
    """
    now = timezone.now()
    for _ in range(3):
        if job.status == JobStatus.PENDING:
            done = Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
                status=JobStatus.CANCELLED,
                error="Cancelled before it started",
                message="Cancelled before it started",
                cancel_requested_at=now,
                finished_at=now,
                updated_at=now,
            )
        elif job.status == JobStatus.RUNNING:
            done = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                status=JobStatus.CANCELLING,
                message="Cancellation requested",
                cancel_requested_at=now,
                updated_at=now,
            )
        elif job.status == JobStatus.CANCELLING:
            return job
        else:
            raise JobStateError(f"Cannot cancel a {job.status} job.")
        job.refresh_from_db()
        if done:
            status_changed.send(sender=Job, instance=job)
            return job
    raise JobStateError("The job changed state while being cancelled; try again.")


def retry_job(job: Job, *, requested_by: str = "") -> Job:
    """Start a new job of the same type with the original parameters only (no runtime state)."""
    if not job.can_retry:
        raise JobStateError(f"Cannot retry a {job.status} job; only failed or cancelled jobs can be retried.")
    return create_job(job.type, dict(job.parameters), retry_of=job, requested_by=requested_by)


def recover_stale_jobs() -> int:
    """Fail jobs whose worker stopped heart-beating, so nothing stays "running" forever.

    The status and heartbeat are part of the update's filter: a worker that beats at the same moment
    keeps its job (compare-and-set).
    """
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    recovered = 0
    stale = Job.objects.filter(status__in=EXECUTING_STATUSES, heartbeat_at__lt=cutoff)
    for job in stale.only("id", "status", "worker", "heartbeat_at"):
        was_cancelling = job.status == JobStatus.CANCELLING
        error = (
            f"Worker {job.worker or '?'} stopped responding (last heartbeat "
            f"{job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC); the job was abandoned. Retry it to run it again."
        )
        now = timezone.now()
        done = Job.objects.filter(pk=job.pk, status=job.status, heartbeat_at=job.heartbeat_at).update(
            status=JobStatus.CANCELLED if was_cancelling else JobStatus.FAILED,
            error=error,
            message="Abandoned: worker stopped responding",
            finished_at=now,
            updated_at=now,
        )
        if done:
            recovered += 1
            logger.warning("Recovered job %s: %s", job.pk, error)
            status_changed.send(sender=Job, instance=Job.objects.get(pk=job.pk))
    return recovered


def fail_lost_job(job: Job, reason: str) -> bool:
    """Fail an executing job whose external task is lost (gone, or its id now names another task), so
    nothing waits on it; whether it was failed. Compare-and-set on status and external id: a job that
    ended meanwhile, or moved on to another external task, keeps its state. Its worker, if alive, sees
    the job is no longer its own and stops without stopping the external task."""
    now = timezone.now()
    done = Job.objects.filter(pk=job.pk, status__in=EXECUTING_STATUSES, external_id=job.external_id).update(
        status=JobStatus.FAILED, error=reason, message=reason[:500], finished_at=now, updated_at=now
    )
    if done:
        logger.warning("Failed job %s: %s", job.pk, reason)
        status_changed.send(sender=Job, instance=Job.objects.get(pk=job.pk))
    return bool(done)


def update_running_job(job_id, worker: str, **fields) -> Job | None:
    """Write fields of a job `worker` executes and return the whole updated row, or None if the job is no
    longer that worker's (recovered as stale, or deleted): compare-and-set on worker and status, and the
    row to push read in the same statement."""
    where = {"pk": job_id, "worker": worker, "status": EXECUTING_STATUSES}
    return next(iter(update_returning(Job, where, **fields)), None)


def purge_finished_jobs() -> int:
    """Delete finished jobs older than the retention period (JOB_RETENTION_DAYS)."""
    cutoff = timezone.now() - timedelta(days=settings.JOB_RETENTION_DAYS)
    deleted, _ = Job.objects.filter(status__in=TERMINAL_STATUSES, finished_at__lt=cutoff).delete()
    return deleted
