"""What the Activity page charts: jobs finished per hour (or day) by outcome, durations per type, the
queue's length over time, and per day what the jobs did to the library (scenes synced, generated,
analysed, changed by plans; downloads imported).

Everything is folded from hourly rollups (JobHourStats: per UTC hour and job type, how many jobs came,
went, completed, failed or were cancelled, their durations and result counters). A closed hour is rolled
up once, the first time a window covers it, with a few aggregate queries over that hour range; the hour
still open is aggregated live. So a window costs a read of at most (hours × types) small rows, whatever
the size of the history (bench/history.py: a year, 1M jobs), and the charts outlive job retention.

The queue is walked back from now: the pending jobs now, minus what came, plus what went, hour by hour.
Buckets are UTC hours mapped to local time: in a zone whose offset is not whole hours, a "day" starts at
the local half hour nearest midnight.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.db import transaction
from django.db.models import BigIntegerField, Count, F, Max, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Trunc
from django.utils import timezone

from jobs.models import ACTIVE_STATUSES, TERMINAL_STATUSES, Job, JobHourStats, JobStatsHour, JobStatus
from jobs.types import get_kind

WINDOWS = {1: "hour", 7: "hour", 30: "day"}  # days shown → the throughput chart's bucket
DEFAULT_DAYS = 7
# An hour is closed this long after it ends: a worker that read the clock just before the hour ended may
# still be writing that time.
CLOSE_AFTER = timedelta(minutes=2)
HOUR = timedelta(hours=1)
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
# (annotation name, metric, job type, result key): names must not contain "__".
_SOURCES = [
    (f"r{n}", metric, job_type, key)
    for n, (metric, job_type, key) in enumerate(
        (metric, job_type, key) for metric, pairs in LIBRARY_METRICS.items() for job_type, key in pairs
    )
]
STAT_COLUMNS = (
    "hour",
    "type",
    "came",
    "went",
    "completed",
    "failed",
    "cancelled",
    "ran",
    "total_seconds",
    "longest_seconds",
    *LIBRARY_METRICS,
)
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
    _fold(hourly_stats(_utc_hour(start), end), start, end, unit, report)
    return report


# --- the rollups -----------------------------------------------------------------------------------------


def _utc_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hourly_stats(first_hour: datetime, end: datetime) -> list[tuple]:
    """Rows of STAT_COLUMNS for the hours from `first_hour` to `end`: stored rollups for closed hours (made
    now where missing), a live aggregate for the hours still open. Tuples, not dicts: a month is thousands
    of rows, folded on every page view."""
    closed_until = _utc_hour(end - CLOSE_AFTER)  # the first hour not closed yet
    if closed_until > first_hour:
        _roll_up(first_hour, closed_until)
    stored = JobHourStats.objects.filter(hour__gte=first_hour, hour__lt=closed_until).values_list(*STAT_COLUMNS)
    live = [
        tuple(row[column] for column in STAT_COLUMNS) for row in _aggregate(max(first_hour, closed_until), end).values()
    ]
    return [*stored, *live]


def _roll_up(first_hour: datetime, closed_until: datetime):
    done = set(JobStatsHour.objects.filter(hour__gte=first_hour, hour__lt=closed_until).values_list("hour", flat=True))
    missing = [h for h in _hours(first_hour, closed_until) if h not in done]
    for run_start, run_end in _runs(missing):
        rows = _aggregate(run_start, run_end)
        with transaction.atomic():
            # ignore_conflicts: two pages rolling up the same hours at once write the same numbers.
            JobHourStats.objects.bulk_create([JobHourStats(**row) for row in rows.values()], ignore_conflicts=True)
            JobStatsHour.objects.bulk_create(
                [JobStatsHour(hour=h) for h in _hours(run_start, run_end)], ignore_conflicts=True
            )


def _hours(first: datetime, until: datetime) -> list[datetime]:
    return [first + HOUR * n for n in range(int((until - first) // HOUR))]


def _runs(hours: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Contiguous ranges [start, end) of the sorted `hours`."""
    runs: list[list[datetime]] = []
    for hour in hours:
        if runs and runs[-1][1] == hour:
            runs[-1][1] = hour + HOUR
        else:
            runs.append([hour, hour + HOUR])
    return [(a, b) for a, b in runs]


def _aggregate(start: datetime, end: datetime) -> dict:
    """The stats of [start, end) per (UTC hour, type), straight from the jobs table."""
    rows: dict[tuple, dict] = {}

    def row(hour, job_type) -> dict:
        return rows.setdefault(
            (hour, job_type),
            {
                "hour": hour,
                "type": job_type,
                "came": 0,
                "went": 0,
                **dict.fromkeys(OUTCOMES, 0),
                "ran": 0,
                "total_seconds": 0.0,
                "longest_seconds": None,
                **dict.fromkeys(LIBRARY_METRICS, 0),
            },
        )

    if end <= start:
        return rows
    hour_of = {"tzinfo": UTC}
    finished = Job.objects.filter(finished_at__gte=start, finished_at__lt=end, status__in=TERMINAL_STATUSES)
    ran = Q(started_at__isnull=False)
    duration = F("finished_at") - F("started_at")
    completed = Q(status=JobStatus.COMPLETED)
    counters = {
        name: Sum(Cast(KT(f"result__{key}"), BigIntegerField()), filter=completed & Q(type=job_type))
        for name, _, job_type, key in _SOURCES
    }
    for group in (
        finished.annotate(hour=Trunc("finished_at", "hour", **hour_of))
        .values("hour", "type")
        .annotate(
            **{outcome: Count("id", filter=Q(status=outcome)) for outcome in OUTCOMES},
            ran=Count("id", filter=ran),
            total=Sum(duration, filter=ran),
            longest=Max(duration, filter=ran),
            **counters,
        )
        .order_by()
    ):
        target = row(group["hour"], group["type"])
        for outcome in OUTCOMES:
            target[outcome] = group[outcome]
        target["ran"] = group["ran"]
        target["total_seconds"] = _seconds(group["total"]) if group["total"] is not None else 0.0
        target["longest_seconds"] = _seconds(group["longest"]) if group["longest"] is not None else None
        for name, metric, _, _ in _SOURCES:
            target[metric] += group[name] or 0
    # Whoever waited in [start, end) finished after `start` or is still active (indexes on both).
    candidates = Job.objects.filter(Q(finished_at__gte=start) | Q(status__in=ACTIVE_STATUSES))
    for field_name, column in (("came", "created_at"), ("went", "gone_at")):
        queryset = candidates.annotate(gone_at=Coalesce("started_at", "finished_at"))
        for group in (
            queryset.filter(**{f"{column}__gte": start, f"{column}__lt": end})
            .annotate(hour=Trunc(column, "hour", **hour_of))
            .values("hour", "type")
            .annotate(n=Count("id"))
            .order_by()
        ):
            row(group["hour"], group["type"])[field_name] = group["n"]
    return rows


def _seconds(value) -> float:
    # PostgreSQL gives a timedelta; SQLite (Django's emulation) gives microseconds as a number.
    return value.total_seconds() if isinstance(value, timedelta) else float(value) / 1_000_000


# --- folding the rollups into the charts ----------------------------------------------------------------------


def _floor(moment: datetime, unit: str) -> datetime:
    local = timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)
    return local.replace(hour=0) if unit == "day" else local


def _buckets(start: datetime, end: datetime, unit: str) -> list[datetime]:
    """The starts of the window's buckets, in local time: hours, or days from local midnight (so a day
    stays midnight to midnight across a daylight saving change)."""
    if unit == "hour":
        return [timezone.localtime(start + HOUR * n) for n in range(int((end - start) // HOUR) + 1)]
    zone = timezone.get_current_timezone()
    day, last = timezone.localtime(start).date(), timezone.localtime(end).date()
    days = []
    while day <= last:
        days.append(datetime.combine(day, time(), tzinfo=zone))
        day += timedelta(days=1)
    return days


class _Hours:
    """The local buckets of UTC hours, worked out once per distinct hour (a row per type shares it)."""

    def __init__(self, unit: str):
        self.unit = unit
        self.bucket: dict[datetime, datetime] = {}
        self.day: dict[datetime, object] = {}

    def of(self, hour: datetime) -> tuple[datetime, object]:
        if hour not in self.bucket:
            self.bucket[hour] = _floor(hour, self.unit)
            self.day[hour] = timezone.localtime(hour).date()
        return self.bucket[hour], self.day[hour]


def _fold(stats, start, end, unit, report: "Activity"):
    """One pass over the rows: throughput per bucket, totals per type, library counts per day, the net
    change of the queue per hour."""
    throughput = {at: [0, 0, 0] for at in _buckets(start, end, unit)}
    daily = {at.date(): [0] * len(LIBRARY_METRICS) for at in _buckets(start, end, "day")}
    types: dict[str, list] = {}
    net: dict[datetime, int] = {}
    hours = _Hours(unit)
    for hour, job_type, came, went, done, failed, cancelled, ran, seconds, longest, *metrics in stats:
        bucket, day = hours.of(hour)
        slot = throughput.get(bucket)
        if slot is not None:
            slot[0] += done
            slot[1] += failed
            slot[2] += cancelled
        if any(metrics) and day in daily:
            daily[day] = [a + b for a, b in zip(daily[day], metrics, strict=True)]
        total = types.setdefault(job_type, [0, 0, 0, 0, 0.0, None])
        total[0] += done
        total[1] += failed
        total[2] += cancelled
        total[3] += ran
        total[4] += seconds
        if longest is not None:
            total[5] = max(longest, total[5] or 0)
        net[hour] = net.get(hour, 0) + came - went
    report.throughput = [
        {"at": at, "completed": c[0], "failed": c[1], "cancelled": c[2]} for at, c in throughput.items()
    ]
    report.daily = [{"day": day, **dict(zip(LIBRARY_METRICS, counts, strict=True))} for day, counts in daily.items()]
    report.by_type = []
    for job_type in sorted(types):
        done, failed, cancelled, ran, seconds, longest = types[job_type]
        if done or failed or cancelled:  # only came or went in the window: nothing finished
            kind = get_kind(job_type)
            report.by_type.append(
                {
                    "type": job_type,
                    "label": kind.label if kind else job_type,
                    "completed": done,
                    "failed": failed,
                    "cancelled": cancelled,
                    "avg_seconds": seconds / ran if ran else None,
                    "max_seconds": longest,
                }
            )
    report.queue = _queue(net, start, end, unit)


def _queue(net: dict, start, end, unit) -> list[dict]:
    """Pending jobs at each bucket's start, and now: walked back from the pending jobs now."""
    pending = Job.objects.filter(status=JobStatus.PENDING).count()
    points = [{"at": end, "pending": pending}]
    # Going back hour by hour from now, the queue before an hour is the queue after it minus its net change.
    hour = _utc_hour(end)
    wanted = sorted({b.astimezone(UTC) for b in _buckets(start, end, unit)}, reverse=True)
    for at in wanted:
        while hour >= at:
            pending -= net.get(hour, 0)
            hour -= HOUR
        points.append({"at": timezone.localtime(at), "pending": pending})
    return list(reversed(points))
