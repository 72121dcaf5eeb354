"""Read-side questions about jobs that daemons ask (each type's own questions are in its module)."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from jobs.models import EXECUTING_STATUSES, Job, JobStatus


def live_active_jobs(job_type: str | None = None):
    """Jobs pending, or executing on a worker that still heartbeats.

    A job whose worker died keeps its "running" status until stale-job recovery fails it; it is doing
    nothing, so it must not count as activity (StashHog's idle check waited on such rows forever)."""
    fresh = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    jobs = Job.objects.filter(Q(status=JobStatus.PENDING) | Q(status__in=EXECUTING_STATUSES, heartbeat_at__gte=fresh))
    return jobs.filter(type=job_type) if job_type else jobs


def oldest_live_job(job_type: str) -> Job | None:
    """The oldest live job of `job_type`, whoever started it (None when there is none)."""
    return live_active_jobs(job_type).order_by("created_at").first()


def live_job_types() -> list[str]:
    """The types of every live job, sorted (empty when the system is idle)."""
    return sorted(live_active_jobs().values_list("type", flat=True))


def live_job_ids(job_type: str) -> list:
    """The ids of the live jobs of `job_type`."""
    return list(live_active_jobs(job_type).values_list("pk", flat=True))
