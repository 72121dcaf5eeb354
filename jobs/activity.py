"""What the Activity page charts: jobs finished per hour (or day) by type and outcome, durations per type,
the queue's length over time, and per day what the jobs did to the library (scenes synced, generated,
analysed, changed by plans; downloads imported).

A few aggregate queries over the window, whatever the size of the history (bench/history.py: a year, 1M
jobs), each answering a few hundred rows at most:
- the jobs that finished in the window (the `job_finished_at` index), grouped by bucket and outcome (the
  throughput), by type (counts, summed and longest durations) and by day and type (the result counters the
  library chart adds up);
- the queue: jobs that entered or left it (created, or started — or ended unstarted) per bucket, among
  the jobs that could have waited in the window: those that finished in it and those still active. A job
  waiting at any instant of the window finishes after it or has not finished yet, so none is missed;
  the queue at the window's start is the jobs among those created before it and not yet gone.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import BigIntegerField, Count, F, Max, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Trunc
from django.utils import timezone

from jobs.models import ACTIVE_STATUSES, TERMINAL_STATUSES, Job
from jobs.types import get_kind

WINDOWS = {1: "hour", 7: "hour", 30: "day"}  # days shown → the throughput chart's bucket
DEFAULT_DAYS = 7
# Per-day library counts: metric → [(job type, result key), …], the keys the job types write.
LIBRARY_METRICS = {
    "scenes_synced": [("sync", "scenes_synced"), ("sync_scenes", "scenes_synced")],
    "scenes_generated": [("stash_generate", "marked_generated"), ("check_stash_generate", "marked_generated")],
    "scenes_analyzed": [("analysis", "scenes_analyzed")],
    "plan_changes_applied": [("apply_plan", "applied")],
    "downloads_imported": [("process_downloads", "total_files_linked"), ("process_downloads", "total_files_copied")],
}
METRIC_LABELS = {
    "scenes_synced": "Scenes synced",
    "scenes_generated": "Scenes marked generated",
    "scenes_analyzed": "Scenes analysed",
    "plan_changes_applied": "Plan changes applied",
    "downloads_imported": "Downloads imported",
}
# (metric, job type, result key) with its SUM's annotation name: names must not contain "__".
_SOURCES = [
    (f"s{n}", metric, job_type, key)
    for n, (metric, job_type, key) in enumerate(
        (metric, job_type, key) for metric, pairs in LIBRARY_METRICS.items() for job_type, key in pairs
    )
]
OUTCOMES = ("completed", "failed", "cancelled")


@dataclass
class Activity:
    days: int
    bucket: str
    start: datetime
    end: datetime
    throughput: list[dict] = field(default_factory=list)  # [{at, completed, failed, cancelled}]
    by_type: list[dict] = field(default_factory=list)  # [{type, label, completed, failed, cancelled, avg, max}]
    queue: list[dict] = field(default_factory=list)  # [{at, pending}] at every bucket's start, and now
    daily: list[dict] = field(default_factory=list)  # [{day, <metric>: n, …}]


def activity(days: int = DEFAULT_DAYS, now: datetime | None = None) -> Activity:
    if days not in WINDOWS:
        raise ValueError(f"days must be one of {', '.join(map(str, WINDOWS))}")
    end = now or timezone.now()
    unit = WINDOWS[days]
    start = _floor(end - timedelta(days=days), unit)
    report = Activity(days=days, bucket=unit, start=start, end=end)
    finished = Job.objects.filter(finished_at__gte=start, finished_at__lte=end, status__in=TERMINAL_STATUSES)
    report.throughput = _throughput(finished, start, end, unit)
    report.by_type = _by_type(finished)
    report.daily = _daily(finished, start, end)
    report.queue = _queue(start, end, unit)
    return report


def _floor(moment: datetime, unit: str) -> datetime:
    local = timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)
    return local.replace(hour=0) if unit == "day" else local


def _bucket_of(moment: datetime, unit: str) -> datetime:
    return _floor(moment, unit)


def _buckets(start: datetime, end: datetime, unit: str) -> list[datetime]:
    """The starts of the window's buckets, in local time: hours, or days from local midnight (so a day
    stays midnight to midnight across a daylight saving change)."""
    if unit == "hour":
        count = int((end - start) // timedelta(hours=1)) + 1
        return [timezone.localtime(start + timedelta(hours=n)) for n in range(count)]
    zone = timezone.get_current_timezone()
    day, last = timezone.localtime(start).date(), timezone.localtime(end).date()
    days = []
    while day <= last:
        days.append(datetime.combine(day, time(), tzinfo=zone))
        day += timedelta(days=1)
    return days


def _throughput(finished, start, end, unit) -> list[dict]:
    table = {at: {"at": at, **dict.fromkeys(OUTCOMES, 0)} for at in _buckets(start, end, unit)}
    rows = (
        finished.annotate(at=Trunc("finished_at", unit, tzinfo=timezone.get_current_timezone()))
        .values("at", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        slot = table.get(_bucket_of(row["at"], unit))
        if slot is not None:
            slot[row["status"]] += row["n"]
    return list(table.values())


def _by_type(finished) -> list[dict]:
    ran = Q(started_at__isnull=False)
    duration = F("finished_at") - F("started_at")
    rows = (
        finished.values("type")
        .annotate(
            **{outcome: Count("id", filter=Q(status=outcome)) for outcome in OUTCOMES},
            ran=Count("id", filter=ran),
            total_duration=Sum(duration, filter=ran),
            longest=Max(duration, filter=ran),
        )
        .order_by("type")
    )
    table = []
    for row in rows:
        kind = get_kind(row["type"])
        total, longest = row["total_duration"], row["longest"]
        table.append(
            {
                "type": row["type"],
                "label": kind.label if kind else row["type"],
                **{outcome: row[outcome] for outcome in OUTCOMES},
                "avg_seconds": _seconds(total) / row["ran"] if row["ran"] and total is not None else None,
                "max_seconds": _seconds(longest) if longest is not None else None,
            }
        )
    return table


def _seconds(value) -> float:
    # PostgreSQL gives a timedelta; SQLite (Django's emulation) gives microseconds as a number.
    return value.total_seconds() if isinstance(value, timedelta) else float(value) / 1_000_000


def _daily(finished, start, end) -> list[dict]:
    table = {at.date(): {"day": at.date(), **dict.fromkeys(LIBRARY_METRICS, 0)} for at in _buckets(start, end, "day")}
    sums = {name: Sum(Cast(KT(f"result__{key}"), BigIntegerField())) for name, _, _, key in _SOURCES}
    rows = (
        finished.filter(type__in={job_type for _, _, job_type, _ in _SOURCES}, status="completed")
        .annotate(day=Trunc("finished_at", "day", tzinfo=timezone.get_current_timezone()))
        .values("day", "type")
        .annotate(**sums)
        .order_by()
    )
    for row in rows:
        slot = table.get(timezone.localtime(row["day"]).date())
        if slot is None:
            continue
        for name, metric, job_type, _ in _SOURCES:
            if job_type == row["type"]:
                slot[metric] += row[name] or 0
    return list(table.values())


def _queue(start, end, unit) -> list[dict]:
    """Pending jobs at each bucket's start (and at `end`): the count at the window's start, plus what
    entered minus what left the queue in each bucket before."""
    gone = Coalesce("started_at", "finished_at")
    candidates = Job.objects.filter(Q(finished_at__gte=start) | Q(status__in=ACTIVE_STATUSES)).annotate(gone_at=gone)
    at_start = candidates.filter(created_at__lt=start).filter(Q(gone_at__gte=start) | Q(gone_at__isnull=True)).count()
    zone = timezone.get_current_timezone()
    came = (
        candidates.filter(created_at__gte=start, created_at__lte=end)
        .annotate(at=Trunc("created_at", unit, tzinfo=zone))
        .values("at")
        .annotate(n=Count("id"))
        .order_by()
    )
    went = (
        candidates.filter(gone_at__gte=start, gone_at__lte=end)
        .annotate(at=Trunc("gone_at", unit, tzinfo=zone))
        .values("at")
        .annotate(n=Count("id"))
        .order_by()
    )
    delta: dict[datetime, int] = {}
    for row in came:
        key = _bucket_of(row["at"], unit)
        delta[key] = delta.get(key, 0) + row["n"]
    for row in went:
        key = _bucket_of(row["at"], unit)
        delta[key] = delta.get(key, 0) - row["n"]
    # Bucket b's point is the queue at b's start: everything that came and went in earlier buckets.
    # The window's own edge is exact; inside a bucket the chart shows its net change at the next point.
    points, pending = [], at_start
    for at in _buckets(start, end, unit):
        points.append({"at": at, "pending": pending})
        pending += delta.get(at, 0)
    points.append({"at": end, "pending": pending})
    return points
