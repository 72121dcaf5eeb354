"""Job workers: at least one `runjobs` heartbeats (jobs.models.WorkerHeartbeat), or pending jobs wait forever."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from health.checks import Check, Result, error, ok, warning
from jobs.models import Job, JobStatus, WorkerHeartbeat

# A worker beats every JOB_HEARTBEAT_SECONDS; three missed beats and it counts as gone.
MISSED_BEATS = 3


def run() -> Result:
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_HEARTBEAT_SECONDS * MISSED_BEATS)
    alive = list(WorkerHeartbeat.objects.filter(heartbeat_at__gte=cutoff))
    dead = list(WorkerHeartbeat.objects.filter(heartbeat_at__lt=cutoff))
    pending = Job.objects.filter(status=JobStatus.PENDING).count()
    facts = {"workers": [w.name for w in alive], "slots": sum(w.concurrency for w in alive), "pending_jobs": pending}
    if not alive:
        what = f"{pending} pending job{'s' if pending != 1 else ''} wait" if pending else "new jobs will wait"
        gone = f" (last seen: {dead[0].name} at {timezone.localtime(dead[0].heartbeat_at):%H:%M:%S})" if dead else ""
        return error(
            f"No job worker is running{gone}: {what}.",
            "Start one: `manage.py runjobs` (make run starts it and restarts it when it exits).",
            **facts,
        )
    if dead:
        names = ", ".join(w.name for w in dead)
        return warning(
            f"{len(alive)} worker{'s' if len(alive) != 1 else ''} running ({facts['slots']} slots); stopped beating: "
            f"{names}.",
            "Nothing to do if that worker was stopped on purpose; its row goes after a day.",
            **facts,
        )
    return ok(
        f"{len(alive)} job worker{'s' if len(alive) != 1 else ''} running with {facts['slots']} slots; {pending} "
        f"pending job{'s' if pending != 1 else ''}.",
        **facts,
    )


CHECK = Check("workers", "Job workers", "At least one job worker is running (heartbeats).", run)
