"""What the Activity page charts: jobs finished per hour (or day) by type and outcome, durations per type,
the queue's length over time, and per day what the jobs did to the library (scenes synced, generated,
analysed, changed by plans; downloads imported).

Every number is read from the jobs table, in a handful of aggregate queries over the window:
- throughput, durations and the daily library counts group the rows that finished in the window (the
  `job_finished_at` index), so a year of history costs what the window holds, not the whole table;
- the queue is swept from the jobs that could have waited in the window: those that finished in it, and
  those still active (the partial `pending` / executing indexes). A job waiting at any instant of the
  window finishes after it or has not finished yet, so nothing waiting is missed.
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


@dataclass
class Activity:
    days: int
    bucket: str
    start: datetime
    end: datetime
    throughput: list[dict] = field(default_factory=list)  # [{at, completed, failed, cancelled, by_type}]
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
    report.queue = _queue(start, end, unit)
    report.daily = _daily(finished, start, end)
    return report


def _floor(moment: datetime, unit: str) -> datetime:
    local = timezone.localtime(moment)
    local = local.replace(minute=0, second=0, microsecond=0)
    if unit == "day":
        local = local.replace(hour=0)
    return local


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
    rows = (
        finished.annotate(at=Trunc("finished_at", unit, tzinfo=timezone.get_current_timezone()))
        .values("at", "type", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    table = {
        at: {"at": at, "completed": 0, "failed": 0, "cancelled": 0, "by_type": {}} for at in _buckets(start, end, unit)
    }
    for row in rows:
        slot = table.get(timezone.localtime(row["at"]))
        if slot is None:
            continue
        slot[row["status"]] += row["n"]
        slot["by_type"][row["type"]] = slot["by_type"].get(row["type"], 0) + row["n"]
    return list(table.values())


def _by_type(finished) -> list[dict]:
    ran = Q(started_at__isnull=False)
    rows = (
        finished.values("type")
        .annotate(
            completed=Count("id", filter=Q(status="completed")),
            failed=Count("id", filter=Q(status="failed")),
            cancelled=Count("id", filter=Q(status="cancelled")),
            ran=Count("id", filter=ran),
            total_duration=Sum(F("finished_at") - F("started_at"), filter=ran),
            longest=Max(F("finished_at") - F("started_at"), filter=ran),
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
                "completed": row["completed"],
                "failed": row["failed"],
                "cancelled": row["cancelled"],
                "avg_seconds": _seconds(total) / row["ran"] if row["ran"] and total is not None else None,
                "max_seconds": _seconds(longest) if longest is not None else None,
            }
        )
    return table


def _seconds(value) -> float:
    # PostgreSQL gives a timedelta; SQLite (Django's emulation) gives microseconds as a number.
    return value.total_seconds() if isinstance(value, timedelta) else float(value) / 1_000_000


def _queue(start, end, unit) -> list[dict]:
    left = Coalesce("started_at", "finished_at")
    waiting = (
        Job.objects.filter(Q(finished_at__gte=start) | Q(status__in=ACTIVE_STATUSES))
        .annotate(left_at=left)
        .values_list("created_at", "left_at")
        .order_by()
    )
    changes = []
    for created, gone in waiting.iterator(chunk_size=5000):
        changes.append((created, 1))
        if gone is not None:
            changes.append((gone, -1))
    changes.sort(key=lambda change: change[0])
    points, pending, index = [], 0, 0
    for at in [*_buckets(start, end, unit), end]:
        while index < len(changes) and changes[index][0] <= at:
            pending += changes[index][1]
            index += 1
        points.append({"at": at, "pending": pending})
    return points


def _daily(finished, start, end) -> list[dict]:
    days = [at.date() for at in _buckets(_floor(start, "day"), end, "day")]
    table = {day: {"day": day, **{metric: 0 for metric in LIBRARY_METRICS}} for day in days}
    # One SUM per (job type, result key); annotation names must not contain "__", hence s0, s1, …
    sources = [(metric, job_type, key) for metric, pairs in LIBRARY_METRICS.items() for job_type, key in pairs]
    sums = {f"s{n}": Sum(Cast(KT(f"result__{key}"), BigIntegerField())) for n, (_, _, key) in enumerate(sources)}
    rows = (
        finished.filter(type__in={job_type for _, job_type, _ in sources}, status="completed")
        .annotate(day=Trunc("finished_at", "day", tzinfo=timezone.get_current_timezone()))
        .values("day", "type")
        .annotate(**sums)
        .order_by()
    )
    for row in rows:
        slot = table.get(timezone.localtime(row["day"]).date())
        if slot is None:
            continue
        for n, (metric, job_type, _) in enumerate(sources):
            if job_type == row["type"]:
                slot[metric] += row[f"s{n}"] or 0
    return list(table.values())
