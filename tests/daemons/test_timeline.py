"""Daemon timelines: statuses are recorded as events, the strip's segments and job bars are computed from
them (merging, the window's opening state, bounds), retention, and the fragment and pages that draw it."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from daemons import services, timeline
from daemons.models import ActualState, DaemonStatusEvent, StatusLevel, TimelineKind
from jobs.models import Job, JobStatus

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=ZoneInfo("UTC"))


def event(daemon, hours_ago: float, kind=TimelineKind.WORKING, message="Checking", job_id=""):
    return DaemonStatusEvent.objects.create(
        daemon=daemon, at=NOW - timedelta(hours=hours_ago), kind=kind, message=message, job_id=job_id
    )


def test_every_status_is_recorded_with_its_kind_and_a_stop_too(daemon):
    services.set_status(daemon.pk, "Checking for work")
    services.set_status(daemon.pk, "Next check in 5 min", level=StatusLevel.WAITING)
    services.set_status(daemon.pk, "Stash is unreachable", level=StatusLevel.ERROR)
    services.set_status(daemon.pk, "Paused since 19:25 (by admin)", level=StatusLevel.WAITING)
    services.clear_status(daemon.pk, actual_state=ActualState.STOPPED, started_at=None)
    kinds = list(DaemonStatusEvent.objects.filter(daemon=daemon).values_list("kind", "message"))
    assert kinds == [
        ("working", "Checking for work"),
        ("waiting", "Next check in 5 min"),
        ("error", "Stash is unreachable"),
        ("paused", "Paused since 19:25 (by admin)"),
        ("stopped", "Stopped"),
    ]


def test_the_strip_opens_with_what_the_daemon_was_doing_and_merges_repeats(daemon):
    event(daemon, 30, TimelineKind.WAITING, "Next check in 1 h")  # before the window: still waiting at -24 h
    event(daemon, 20, TimelineKind.WORKING, "Syncing 3 scenes")
    event(daemon, 19, TimelineKind.WORKING, "Syncing 2 scenes")  # same kind, no job: one segment
    event(daemon, 18, TimelineKind.ERROR, "Stash is unreachable")
    event(daemon, 12, TimelineKind.WAITING, "Next check in 1 h")
    strip = timeline.strip(daemon, 24, now=NOW)
    assert [(s.kind, s.message, s.statuses) for s in strip.segments] == [
        ("waiting", "Next check in 1 h", 1),
        ("working", "Syncing 3 scenes", 2),
        ("error", "Stash is unreachable", 1),
        ("waiting", "Next check in 1 h", 1),
    ]
    assert strip.segments[0].start == NOW - timedelta(hours=24) and strip.segments[-1].end == NOW
    assert strip.time_in == {"waiting": 16 * 3600, "working": 2 * 3600, "error": 6 * 3600}


def test_a_chatty_day_is_bounded_and_a_blip_of_error_stays_visible(daemon):
    start = NOW - timedelta(hours=24)
    rows = []
    for n in range(20_000):  # a status every ~4 s, alternating working / waiting, one error among them
        kind = TimelineKind.ERROR if n == 10_001 else (TimelineKind.WORKING if n % 2 else TimelineKind.WAITING)
        rows.append(
            DaemonStatusEvent(daemon=daemon, at=start + timedelta(seconds=4.32 * n), kind=kind, message=f"s{n}")
        )
    DaemonStatusEvent.objects.bulk_create(rows)
    strip = timeline.strip(daemon, 24, now=NOW)
    assert len(strip.segments) <= 2 * timeline.MAX_SEGMENTS
    assert sum(s.statuses for s in strip.segments) == 20_000
    assert any(s.kind == "error" and s.message == "s10001" for s in strip.segments)


def test_job_bars_are_the_daemons_jobs_that_ran_in_the_window(daemon):
    def job(name, status, started_h, finished_h=None):
        row = Job.objects.create(type="test", status=status, created_by=name)
        started = NOW - timedelta(hours=started_h)
        finished = NOW - timedelta(hours=finished_h) if finished_h is not None else None
        Job.objects.filter(pk=row.pk).update(created_at=started, started_at=started, finished_at=finished)
        return row

    done = job("test", JobStatus.COMPLETED, 5, 4)
    failed = job("test", JobStatus.FAILED, 25, 23)  # began before the window, ended in it
    running = job("test", JobStatus.RUNNING, 1)
    job("test", JobStatus.COMPLETED, 30, 29)  # over before the window
    job("other", JobStatus.COMPLETED, 5, 4)  # another daemon's
    bars = timeline.strip(daemon, 24, now=NOW).jobs
    assert [b["id"] for b in bars] == [str(failed.pk), str(done.pk), str(running.pk)]
    assert bars[0]["start"] == NOW - timedelta(hours=24)  # clipped to the window
    assert bars[2]["end"] == NOW and bars[1]["url"] == f"/jobs/{done.pk}/"


def test_old_events_are_purged_with_the_logs(daemon, settings):
    settings.DAEMON_TIMELINE_RETENTION_DAYS = 30
    now = timezone.now()
    DaemonStatusEvent.objects.create(daemon=daemon, at=now - timedelta(days=31), kind="working", message="old")
    DaemonStatusEvent.objects.create(daemon=daemon, at=now - timedelta(days=29), kind="working", message="new")
    services.purge_old_logs(daemon.pk)
    assert list(DaemonStatusEvent.objects.values_list("message", flat=True)) == ["new"]


def test_the_fragment_draws_segments_and_links_jobs(browser, daemon):
    row = Job.objects.create(type="test", status=JobStatus.RUNNING, created_by="test")
    services.set_status(daemon.pk, "Watching a test job", job_id=str(row.pk), job_type="test")
    html = browser.get("/daemons/test/timeline/?hours=24").content.decode()
    assert 'class="tl-working"' in html and "Watching a test job" in html
    assert f'href="/jobs/{row.pk}/"' in html and "1</strong> job" in html
    compact = browser.get("/daemons/test/timeline/?hours=168&compact=1").content.decode()
    assert "timeline-compact" in compact and "tl-job " not in compact


@pytest.mark.parametrize("hours", ["3", "abc", "-1"])
def test_a_window_it_does_not_offer_is_a_400(browser, daemon, hours):
    assert browser.get(f"/daemons/test/timeline/?hours={hours}").status_code == 400


def test_the_fragment_needs_a_login(client, daemon):
    assert client.get("/daemons/test/timeline/").status_code == 302


def test_the_pages_draw_the_timeline(browser, daemon):
    services.set_status(daemon.pk, "Checking for work")
    detail = browser.get("/daemons/test/?timeline=168").content.decode()
    assert 'id="timeline"' in detail and "in the last 7 days" in detail
    listing = browser.get("/daemons/").content.decode()
    card = listing[listing.index('data-daemon="test"') :]
    assert 'data-timeline="test"' in card[: card.index("</article>")]
