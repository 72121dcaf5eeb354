"""activity_page_ms and timeline_ms: the Activity page (7 days) and a daemon's 24-hour timeline fragment,
rendered in-process (view, queries, template) over a year of history on PostgreSQL: 1,000,000 job rows
and 5,000,000 status events. Median of repeated requests; p95 and the first view (which rolls up the
window's closed hours, jobs/activity.py) on stderr. Issue 16's target: both < 100 ms.
"""

import time

from bench.common import emit, note, percentile, run_sql

JOBS = 1_000_000
EVENTS = 5_000_000
CALLS = 30
YEAR_SECONDS = 365 * 86400

# A job every ~31.5 s over the past year, of nine types, mostly completed, some launched by daemons; the
# library counters the Activity page sums sit in the results of the types that write them.
FILL_JOBS = (
    """INSERT INTO {jobs} (id, type, status, progress, processed_items, message, parameters, result, error,
                           traceback, created_by, requested_by, external_id, external_identity, worker,
                           created_at, started_at, finished_at, updated_at)
       SELECT md5(g::text)::uuid,
              (ARRAY['sync','sync_scenes','stash_scan','stash_generate','check_stash_generate','analysis',
                     'apply_plan','process_downloads','test'])[1 + g % 9],
              CASE WHEN g % 50 = 0 THEN 'failed' WHEN g % 97 = 0 THEN 'cancelled' ELSE 'completed' END,
              100, 0, '', '{{}}',
              CASE g % 9 WHEN 0 THEN '{{"scenes_synced": 12}}' WHEN 3 THEN '{{"marked_generated": 4}}'
                         WHEN 5 THEN '{{"scenes_analyzed": 10}}' WHEN 6 THEN '{{"applied": 3}}'
                         WHEN 7 THEN '{{"total_files_linked": 2, "total_files_copied": 0}}' ELSE '{{}}' END::jsonb,
              '', '',
              (ARRAY['auto_stash_sync','auto_stash_generation','auto_video_analysis','auto_plan_applier',
                     'download_processor',''])[1 + g % 6],
              '', '', '{{}}', '',
              now() - make_interval(secs => g * {step}),
              now() - make_interval(secs => g * {step}) + interval '1 second',
              now() - make_interval(secs => g * {step}) + make_interval(secs => 2 + g % 600),
              now() - make_interval(secs => g * {step})
       FROM generate_series(1, {rows}) AS g""",
    "ANALYZE {jobs}",
)
FILL_EVENTS = (
    """INSERT INTO {events} (daemon_id, at, kind, message, job_id, job_type)
       SELECT d.id,
              now() - make_interval(secs => g * {step}),
              (ARRAY['working','waiting','waiting','working','error'])[1 + g % 5],
              'Status number ' || g, '', ''
       FROM generate_series(1, {per_daemon}) AS g CROSS JOIN (SELECT id FROM {daemons} ORDER BY id LIMIT 5) AS d""",
    "ANALYZE {events}",
)


def run(bench):
    from django.contrib.auth.models import User
    from django.test import Client

    from daemons import services
    from daemons.models import Daemon, DaemonStatusEvent
    from jobs.models import Job

    services.ensure_daemon_rows()
    daemons = Daemon.objects.order_by("id")[:5]
    per_daemon = EVENTS // len(daemons)
    tables = {"jobs": Job._meta.db_table, "events": DaemonStatusEvent._meta.db_table, "daemons": Daemon._meta.db_table}
    began = time.monotonic()
    run_sql(FILL_JOBS, rows=str(JOBS), step=str(YEAR_SECONDS / JOBS), **tables)
    note(f"inserted {JOBS} jobs in {time.monotonic() - began:.1f} s")
    began = time.monotonic()
    run_sql(FILL_EVENTS, per_daemon=str(per_daemon), step=str(YEAR_SECONDS / per_daemon), **tables)
    note(f"inserted {per_daemon * len(daemons)} status events in {time.monotonic() - began:.1f} s")
    try:
        client = Client(HTTP_HOST="127.0.0.1")
        user, _ = User.objects.get_or_create(username="bench-history")
        client.force_login(user)
        name = daemons[0].name
        for metric, url, expect in (
            ("activity_page_ms", "/activity/?days=7", b"Jobs finished per hour"),
            ("timeline_ms", f"/daemons/{name}/timeline/?hours=24", b"tl-working"),
        ):
            started = time.perf_counter()
            first = client.get(url)
            note(f"{metric}: first view {(time.perf_counter() - started) * 1000:.1f} ms (rolls up the window's hours)")
            assert first.status_code == 200
            timings = []
            for _ in range(CALLS):
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200 and expect in response.content, response.status_code
            note(f"{metric}: p50 {percentile(timings, 50):.1f} ms, p95 {percentile(timings, 95):.1f} ms")
            emit(metric, round(percentile(timings, 50), 1), "ms")
        weekly = client.get(f"/daemons/{name}/timeline/?hours=168")
        note(f"7-day timeline: {len(weekly.content)} bytes")
    finally:
        run_sql(("TRUNCATE {events}", "TRUNCATE {jobs} CASCADE"), **tables)
