"""Helpers of the page tests: rows set directly, finished jobs, one daemon's card."""

from django.utils import timezone

from daemons.models import Daemon
from jobs.models import Job, JobStatus
from jobs.services import create_job


def set_row(daemon, **fields):
    Daemon.objects.filter(pk=daemon.pk).update(**fields)
    daemon.refresh_from_db()
    return daemon


def finished_job(status=JobStatus.COMPLETED, **fields):
    job = create_job("test", {"steps": 2})
    fields.setdefault("finished_at", timezone.now())
    Job.objects.filter(pk=job.pk).update(status=status, **fields)
    job.refresh_from_db()
    return job


def card(html: str, name: str) -> str:
    start = html.index(f'data-daemon="{name}"')
    return html[start : html.index("</article>", start)]
