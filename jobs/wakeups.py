"""What jobs announce to waiting loops (orchestrator/wakeups.py): a new pending job, a job's end.

`connect()` (from JobsConfig.ready) wires the receivers to the Job's post_save (creation) and
status_changed (claims, finishes, cancels, stale recovery). Idle workers claim a new job at once instead of
at their next poll; a daemon watching a job sees its end at once; a daemon waiting for the system to be
idle re-checks. Bulk inserts fire no signal: their jobs are found by the workers' poll.
"""

from django.db.models.signals import post_save

from jobs.models import Job, JobStatus
from orchestrator import wakeups
from orchestrator.live.signals import status_changed


def connect():
    post_save.connect(announce_created, sender=Job, dispatch_uid="jobs.wakeups.created")
    status_changed.connect(announce_ended, sender=Job, dispatch_uid="jobs.wakeups.ended")


def announce_created(sender, instance: Job, created: bool = False, **kwargs):
    if created and instance.status == JobStatus.PENDING:
        wakeups.announce(wakeups.JOB_CREATED, str(instance.pk))


def announce_ended(sender, instance: Job, **kwargs):
    if instance.is_finished:
        wakeups.announce(wakeups.JOB_ENDED, str(instance.pk))
