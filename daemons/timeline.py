"""A daemon's timeline: what it did over the last day (or week), as a strip of segments and job bars.

Every status a daemon reports is kept as a DaemonStatusEvent (set_status and a stop record one); a status
lasts until the next. The strip reads one daemon's events in the window through the (daemon, at) index,
plus the event just before the window (what it was doing when the window opens), and the jobs the daemon
launched that ran in the window. Neighbouring events of the same kind and job merge into one segment, and
runs of segments too narrow to see merge into one (showing the most serious kind among them), so a chatty
day still draws about MAX_SEGMENTS rectangles at most.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from daemons.models import DaemonStatusEvent, StatusLevel, TimelineKind
from jobs.models import ACTIVE_STATUSES, Job
from orchestrator.paths import job_path

WINDOWS = {24: "24 hours", 168: "7 days"}
MAX_SEGMENTS = 400
MAX_JOBS = 500
# A job bar starts where the job did: one that began more than this long before the window is not looked for
# (the jobs query needs a lower bound on created_at for its index).
LONGEST_JOB = timedelta(days=2)
SEVERITY = {
    TimelineKind.STOPPED: 0,
    TimelineKind.WAITING: 1,
    TimelineKind.PAUSED: 2,
    TimelineKind.WORKING: 3,
    TimelineKind.WARNING: 4,
    TimelineKind.ERROR: 5,
}
_LEVEL_KINDS = {
    StatusLevel.OK: TimelineKind.WORKING,
    StatusLevel.WAITING: TimelineKind.WAITING,
    StatusLevel.WARNING: TimelineKind.WARNING,
    StatusLevel.ERROR: TimelineKind.ERROR,
}
PAUSED_PREFIXES = ("Paused", "Quiet hours")


# --- recording -----------------------------------------------------------------------------------------


def kind_of(message: str, level) -> str:
    if message.startswith(PAUSED_PREFIXES):
        return TimelineKind.PAUSED
    return _LEVEL_KINDS.get(level, TimelineKind.WORKING)


def record(daemon_id: int, at: datetime, message: str, level, job_id=None, job_type=None):
    DaemonStatusEvent.objects.create(
        daemon_id=daemon_id,
        at=at,
        kind=kind_of(message, level),
        message=message[:500],
        job_id=str(job_id or "")[:36],
        job_type=(job_type or "")[:100],
    )


def record_stop(daemon_id: int, at: datetime):
    DaemonStatusEvent.objects.create(daemon_id=daemon_id, at=at, kind=TimelineKind.STOPPED, message="Stopped")


def purge(daemon_id: int, before: datetime) -> int:
    deleted, _ = DaemonStatusEvent.objects.filter(daemon_id=daemon_id, at__lt=before).delete()
    return deleted


# --- the strip -------------------------------------------------------------------------------------------


@dataclass
class Segment:
    start: datetime
    end: datetime
    kind: str
    message: str
    job_id: str = ""
    job_type: str = ""
    statuses: int = 1  # how many reported statuses it stands for

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass
class Strip:
    start: datetime
    end: datetime
    segments: list[Segment] = field(default_factory=list)
    jobs: list[dict] = field(default_factory=list)  # [{id, type, status, start, end, url}]
    time_in: dict = field(default_factory=dict)  # kind → seconds

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def strip(daemon, hours: int = 24, now: datetime | None = None) -> Strip:
    end = now or timezone.now()
    start = end - timedelta(hours=hours)
    result = Strip(start=start, end=end)
    result.segments = _segments(daemon.pk, start, end)
    for segment in result.segments:
        result.time_in[segment.kind] = result.time_in.get(segment.kind, 0) + segment.seconds
    result.jobs = _jobs(daemon.name, start, end)
    return result


def _segments(daemon_id: int, start: datetime, end: datetime) -> list[Segment]:
    events = DaemonStatusEvent.objects.filter(daemon_id=daemon_id)
    columns = ("at", "kind", "message", "job_id", "job_type")
    before = events.filter(at__lt=start).order_by("-at", "-id").values_list(*columns).first()
    rows = list(events.filter(at__gte=start, at__lte=end).order_by("at", "id").values_list(*columns))
    if before is not None:
        rows.insert(0, (start, *before[1:]))
    segments: list[Segment] = []
    for n, (at, kind, message, job_id, job_type) in enumerate(rows):
        until = rows[n + 1][0] if n + 1 < len(rows) else end
        last = segments[-1] if segments else None
        if last is not None and last.kind == kind and last.job_id == job_id:
            last.end, last.statuses = until, last.statuses + 1
        else:
            segments.append(Segment(at, until, kind, message, job_id, job_type))
    return _fit(segments, (end - start) / MAX_SEGMENTS)


def _fit(segments: list[Segment], narrowest: timedelta) -> list[Segment]:
    """Keep wide segments as they are; gather runs of narrow ones into a segment of at least `narrowest`
    (or up to the next wide one) that shows the most serious kind among them."""
    fitted: list[Segment] = []
    run: Segment | None = None
    for segment in segments:
        if segment.end - segment.start >= narrowest:
            if run is not None:
                fitted.append(run)
                run = None
            fitted.append(segment)
            continue
        if run is None:
            run = Segment(
                segment.start,
                segment.end,
                segment.kind,
                segment.message,
                segment.job_id,
                segment.job_type,
                segment.statuses,
            )
        else:
            if SEVERITY[segment.kind] > SEVERITY[run.kind]:
                run.kind, run.message = segment.kind, segment.message
                run.job_id, run.job_type = segment.job_id, segment.job_type
            run.end, run.statuses = segment.end, run.statuses + segment.statuses
        if run.end - run.start >= narrowest:
            fitted.append(run)
            run = None
    if run is not None:
        fitted.append(run)
    return fitted


def _jobs(name: str, start: datetime, end: datetime) -> list[dict]:
    launched = Job.objects.filter(created_by=name, created_at__gte=start - LONGEST_JOB, created_at__lte=end)
    ran_in_window = Q(finished_at__gte=start) | Q(status__in=ACTIVE_STATUSES)
    rows = (
        launched.filter(ran_in_window)
        .order_by("-created_at")
        .values_list("id", "type", "status", "created_at", "started_at", "finished_at")[:MAX_JOBS]
    )
    jobs = []
    for job_id, job_type, status, created, started, finished in reversed(rows):
        jobs.append(
            {
                "id": str(job_id),
                "type": job_type,
                "status": status,
                "start": max(started or created, start),
                "end": min(finished or end, end),
                "url": job_path(job_id),
            }
        )
    return jobs
