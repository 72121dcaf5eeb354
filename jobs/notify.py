"""What jobs tell the notification port (orchestrator/notify.py): a job failed.

Every transition of a job to "failed" sends the Job's status_changed exactly once (the worker's finish,
stale recovery, a lost external task: each a compare-and-set), so the receiver raises one event per
failure. Subject: the job type, so a type failing over and over is one message per rate-limit window.
"""

from jobs.models import Job, JobStatus
from orchestrator import notify
from orchestrator.live.signals import status_changed
from orchestrator.paths import job_path


def connect():
    status_changed.connect(job_failed, sender=Job, dispatch_uid="jobs.notify.failed")


def job_failed(sender, instance: Job, **kwargs):
    if instance.status != JobStatus.FAILED:
        return
    first_line = (instance.error or instance.message or "").strip().splitlines()
    notify.event(
        notify.JOB_FAILED,
        instance.type,
        f"Job failed: {instance.type_label}",
        first_line[0] if first_line else "The job failed.",
        link=job_path(instance.pk),
        level="failure",
    )
