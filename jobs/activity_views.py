"""/activity/: charts of what the jobs did (jobs.activity) drawn as server-side SVG (orchestrator.charts)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from jobs.activity import DEFAULT_DAYS, METRIC_LABELS, WINDOWS, activity
from jobs.views import format_duration
from orchestrator import charts

OUTCOMES = [("completed", "Completed", "c-ok"), ("failed", "Failed", "c-error"), ("cancelled", "Cancelled", "c-muted")]
METRIC_CSS = {
    "scenes_synced": "c-1",
    "scenes_generated": "c-2",
    "scenes_analyzed": "c-3",
    "plan_changes_applied": "c-4",
    "downloads_imported": "c-5",
}


@login_required
def activity_page(request):
    raw = request.GET.get("days", "")
    days = int(raw) if raw.isdigit() and int(raw) in WINDOWS else DEFAULT_DAYS
    report = activity(days)
    label = _label_format(report.bucket, days)
    throughput = [
        {"label": label(row["at"]), "values": {key: row[key] for key, _, _ in OUTCOMES}} for row in report.throughput
    ]
    queue = [{"label": label(point["at"]), "value": point["pending"]} for point in report.queue]
    daily = [
        {"label": row["day"].strftime("%m-%d"), "values": {m: row[m] for m in METRIC_LABELS}} for row in report.daily
    ]
    context = {
        "days": days,
        "windows": list(WINDOWS),
        "report": report,
        "throughput_chart": charts.stacked_bars(
            throughput,
            [(key, css) for key, _, css in OUTCOMES],
            title=f"Jobs finished per {report.bucket}, by outcome",
            chart_id="throughput",
        ),
        "outcome_legend": OUTCOMES,
        "queue_chart": charts.line(queue, unit=" waiting", title="Pending jobs over time", chart_id="queue"),
        "daily_chart": charts.stacked_bars(
            daily,
            [(m, METRIC_CSS[m]) for m in METRIC_LABELS],
            title="What jobs did to the library per day",
            chart_id="library",
            max_labels=10,
        ),
        "metric_legend": [(m, METRIC_LABELS[m], METRIC_CSS[m]) for m in METRIC_LABELS],
        # Only the buckets in which something finished: a quiet week would otherwise be 168 rows of zeros.
        "throughput_rows": [
            (throughput[n]["label"], row["completed"], row["failed"], row["cancelled"])
            for n, row in enumerate(report.throughput)
            if row["completed"] or row["failed"] or row["cancelled"]
        ],
        "daily_rows": [(row["day"], [row[m] for m in METRIC_LABELS]) for row in report.daily],
        "type_rows": [
            {**row, "avg": format_duration(row["avg_seconds"]), "longest": format_duration(row["max_seconds"])}
            for row in report.by_type
        ],
        "metric_labels": list(METRIC_LABELS.items()),
        "totals": {key: sum(row[key] for row in report.throughput) for key, _, _ in OUTCOMES},
    }
    return render(request, "jobs/activity.html", context)


def _label_format(bucket: str, days: int):
    def label(moment) -> str:
        local = timezone.localtime(moment)
        if bucket == "day":
            return local.strftime("%m-%d")
        return local.strftime("%H:%M") if days == 1 else local.strftime("%a %H:%M")

    return label
