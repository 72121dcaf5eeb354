"""The Activity page's numbers (jobs.activity): throughput per bucket by outcome, durations per type, the
queue swept from created/started times, and what jobs did to the library per day; then the page itself."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from jobs.activity import activity
from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
NOW = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)


def job(type, status, *, created, started=None, finished=None, result=None):
    row = Job.objects.create(type=type, status=status, result=result)
    Job.objects.filter(pk=row.pk).update(created_at=created, started_at=started, finished_at=finished)
    return row


def at(hours_ago: float) -> datetime:
    return NOW - timedelta(hours=hours_ago)


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "UTC"
    timezone.activate(UTC)
    # Two syncs in the 10:00 hour (one failed), one generate at 11:xx, one cancelled before it ran.
    job("sync", JobStatus.COMPLETED, created=at(2.5), started=at(2.4), finished=at(2.3), result={"scenes_synced": 40})
    job("sync", JobStatus.FAILED, created=at(2.2), started=at(2.2), finished=at(2.1))
    job(
        "stash_generate",
        JobStatus.COMPLETED,
        created=at(1.3),
        started=at(1.0),
        finished=at(0.9),
        result={"marked_generated": 7},
    )
    job("analysis", JobStatus.CANCELLED, created=at(1.2), finished=at(1.1))
    # Yesterday: an apply and a download import; last month: outside every window but 30 days.
    job("apply_plan", JobStatus.COMPLETED, created=at(26), started=at(26), finished=at(25.5), result={"applied": 3})
    job(
        "process_downloads",
        JobStatus.COMPLETED,
        created=at(26),
        started=at(26),
        finished=at(25.9),
        result={"total_files_linked": 2, "total_files_copied": 1},
    )
    job(
        "sync",
        JobStatus.COMPLETED,
        created=at(24 * 20),
        started=at(24 * 20),
        finished=at(24 * 20),
        result={"scenes_synced": 1000},
    )
    # Still waiting now, created 30 minutes ago.
    job("sync", JobStatus.PENDING, created=at(0.5))
    yield
    timezone.deactivate()


def test_throughput_counts_jobs_per_hour_by_outcome(history):
    report = activity(1, now=NOW)
    by_hour = {row["at"].strftime("%H:%M"): row for row in report.throughput}
    assert (by_hour["10:00"]["completed"], by_hour["10:00"]["failed"]) == (1, 1)
    assert (by_hour["11:00"]["completed"], by_hour["11:00"]["cancelled"]) == (1, 1)
    assert sum(r["completed"] + r["failed"] + r["cancelled"] for r in report.throughput) == 4
    assert report.bucket == "hour" and len(report.throughput) == 25


def test_durations_per_type_leave_out_jobs_that_never_ran(history):
    rows = {row["type"]: row for row in activity(1, now=NOW).by_type}
    assert rows["sync"]["completed"] == 1 and rows["sync"]["failed"] == 1
    assert rows["sync"]["avg_seconds"] == pytest.approx((360 + 360) / 2)
    assert rows["sync"]["max_seconds"] == pytest.approx(360)
    assert rows["stash_generate"]["avg_seconds"] == pytest.approx(360)
    assert rows["analysis"]["cancelled"] == 1 and rows["analysis"]["avg_seconds"] is None


def test_the_queue_counts_what_waited_at_each_hours_start(history):
    # Everything of the history's 10:00 and 11:00 hours left the queue within its hour; this one waits
    # from 10:50 to 11:05, and one that waited since yesterday starts at 10:10.
    job("sync", JobStatus.COMPLETED, created=at(1.67), started=at(1.42), finished=at(1.4))
    job("sync", JobStatus.COMPLETED, created=at(30), started=at(2.33), finished=at(2.3))
    report = activity(1, now=NOW)
    points = {p["at"].strftime("%H:%M"): p["pending"] for p in report.queue[:-1]}
    assert (points["09:00"], points["10:00"], points["11:00"], points["12:00"]) == (1, 1, 1, 0)
    assert report.queue[-1] == {"at": NOW, "pending": 1}  # the sync created at 12:00, still pending


def test_daily_library_counts_come_from_the_jobs_results(history):
    days = {row["day"].isoformat(): row for row in activity(7, now=NOW).daily}
    assert days["2026-06-10"]["scenes_synced"] == 40 and days["2026-06-10"]["scenes_generated"] == 7
    assert days["2026-06-09"]["plan_changes_applied"] == 3 and days["2026-06-09"]["downloads_imported"] == 3
    assert sum(row["scenes_synced"] for row in days.values()) == 40  # the month-old sync is outside 7 days
    month = activity(30, now=NOW)
    assert sum(row["scenes_synced"] for row in month.daily) == 1040 and month.bucket == "day"


def test_a_window_it_does_not_offer_is_refused(history):
    with pytest.raises(ValueError):
        activity(3, now=NOW)


def test_the_page_draws_the_charts_with_their_numbers(browser, history):
    with time_machine.travel(NOW, tick=False):
        html = browser.get("/activity/?days=7").content.decode()
    assert "Jobs finished per hour" in html and "<svg" in html and "Pending jobs over time" in html
    assert 'data-type="sync"' in html and "6 min" in html  # the average duration, formatted
    assert 'aria-current="page">7 days' in html
    nav = html[html.index('<nav class="nav"') : html.index("</nav>")]
    assert 'href="/activity/"' in nav
    assert browser.get("/activity/?days=abc").status_code == 200  # an unknown window shows the default


def test_closed_hours_are_rolled_up_once_and_outlive_job_retention(history):
    from jobs.models import JobHourStats, JobStatsHour

    first = activity(1, now=NOW)
    assert JobStatsHour.objects.count() == 24  # every closed hour of the window (12:00 to 11:00), jobs or not
    assert JobHourStats.objects.filter(type="sync").exists()
    Job.objects.filter(finished_at__lt=NOW - timedelta(minutes=30)).delete()  # retention removes them
    again = activity(1, now=NOW)
    assert again.throughput == first.throughput and again.by_type == first.by_type


def test_the_hour_still_open_is_counted_live(history):
    assert sum(r["completed"] for r in activity(1, now=NOW).throughput) == 2
    job("sync", JobStatus.COMPLETED, created=at(0.2), started=at(0.2), finished=at(0.1), result={"scenes_synced": 5})
    report = activity(1, now=NOW)
    assert sum(r["completed"] for r in report.throughput) == 3
    assert report.daily[-1]["scenes_synced"] == 45
