"""Jobs running far past their expected time.

A job type's expected time is the longest of its last 20 completed runs; "far past" is three times that,
and at least LONG_SECONDS_MIN. A type with no completed run yet gets NO_HISTORY_SECONDS."""

from django.utils import timezone

from health.checks import Check, Result, ok, warning
from jobs.models import EXECUTING_STATUSES, Job, JobStatus

HISTORY = 20
FACTOR = 3
LONG_SECONDS_MIN = 15 * 60
NO_HISTORY_SECONDS = 6 * 3600


def expected_seconds(job_type: str) -> float | None:
    done = (
        Job.objects.filter(type=job_type, status=JobStatus.COMPLETED, started_at__isnull=False)
        .exclude(finished_at=None)
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")[:HISTORY]
    )
    durations = [(end - start).total_seconds() for start, end in done]
    return max(durations) if durations else None


def run() -> Result:
    now = timezone.now()
    running = list(Job.objects.filter(status__in=EXECUTING_STATUSES).exclude(started_at=None))
    late, limits = [], {}
    for job in running:
        if job.type not in limits:
            usual = expected_seconds(job.type)
            limits[job.type] = (usual, max(FACTOR * usual, LONG_SECONDS_MIN) if usual else NO_HISTORY_SECONDS)
        usual, limit = limits[job.type]
        age = (now - job.started_at).total_seconds()
        if age > limit:
            expectation = f"such jobs take up to {_duration(usual)}" if usual else "no such job has finished yet"
            late.append(f"{job.type_label} {str(job.pk)[:8]} has run for {_duration(age)} ({expectation}).")
    if late:
        return warning(
            " ".join(late),
            "Open the job: if its progress stopped moving, cancel it and retry; a Stash job may be stuck in Stash.",
            late=len(late),
        )
    return ok(f"{len(running)} job{'s' if len(running) != 1 else ''} running, none far past its usual time.")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


CHECK = Check("jobs", "Long-running jobs", "No job runs far past the usual time of its type.", run)
