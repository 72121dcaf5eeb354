"""Read-side questions about jobs that daemons ask."""

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
