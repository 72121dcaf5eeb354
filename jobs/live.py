"""What live pages see of jobs: the payload, and the receiver that publishes it after commit.

`connect()` (from JobsConfig.ready) wires the receiver to the Job's status_changed (claims, finishes,
cancels, stale recovery: writes through update()) and post_save (creation, progress): either pushes the
job's whole state to the jobs list and the job's page. It also registers their connect-time snapshot.
"""

from django.db import transaction
from django.db.models.signals import post_save

from jobs.models import ACTIVE_STATUSES, Job
from orchestrator.live import groups, snapshots
from orchestrator.live.fragments import render_fragment
from orchestrator.live.groups import LiveGroup, page_key
from orchestrator.live.publisher import publish
from orchestrator.live.signals import status_changed

JOBS = "jobs"
GROUP = LiveGroup(JOBS, page="job", key=r"[0-9a-f-]{36}")

# The jobs list's snapshot: enough for any page's active table.
SNAPSHOT_LIMIT = 200


def connect():
    status_changed.connect(publish_state, sender=Job, dispatch_uid="jobs.live.state")
    post_save.connect(publish_state, sender=Job, dispatch_uid="jobs.live.saved")
    groups.register(GROUP)
    snapshots.register(JOBS, snapshot)


def job_payload(job: Job) -> dict:
    return {
        "type": "job",
        "job": job.to_state(),
        # The row for the Jobs pages; the progress alone for the daemon cards whose status links the job.
        "html": {
            "row": render_fragment("jobs/_job_row.html", {"job": job}),
            "progress": render_fragment("jobs/_progress.html", {"job": job}),
        },
    }


def snapshot(group: str) -> list[dict]:
    """The jobs group: the active jobs' states; job.<id>: that job's."""
    if group == JOBS:
        return [job_payload(j) for j in Job.objects.filter(status__in=ACTIVE_STATUSES)[:SNAPSHOT_LIMIT]]
    job = Job.objects.filter(pk=page_key(group)).first()
    return [job_payload(job)] if job else []


def publish_state(sender, instance: Job, **kwargs):
    """status_changed and post_save: after commit, push the job's whole state (the instance, not re-read)."""
    # One update for both groups: rendered and serialised once, sent in one channel-layer message.
    transaction.on_commit(lambda: publish((JOBS, job_group(instance.pk)), job_payload(instance)))


def job_group(job_id) -> str:
    return GROUP.page_group(job_id)
