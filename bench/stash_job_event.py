"""stash_job_event_p95: Stash reports a job's progress → our job's progress change reaches a WebSocket
client of our dashboard.

Processes: the Stash emulator (`manage.py stashemulator`), daphne, one `runjobs` worker, Redis, and one
WebSocket client process subscribed to the jobs list. A `stash_generate` job follows the emulator's
generate task for GENERATE_SECONDS; Stash sends an UPDATE about every 100 ms (its throttle). This
process subscribes to Stash's jobsSubscribe as well and stamps each UPDATE's arrival (bench/stash_events.py).
Latency of one update = the client's receive time of the first push of our job whose progress (rounded to
0.1 %, as the push carries it) has reached the update's − that arrival. Updates in the first WARMUP_SECONDS
are left out (first connections).
"""

import json
import time

from bench.common import Bench, emit, note, percentile, wait_for
from bench.live import Clients, login_cookie
from bench.stash_events import StashFeed, control, start_emulator

GENERATE_SECONDS = 30.0
WARMUP_SECONDS = 1.0


def run(bench: Bench):
    from jobs.models import Job
    from jobs.services import create_job

    started, clients = [], None
    try:
        url, emulator = start_emulator(bench, "emulator-job-event", scenes=50)
        started.append(emulator)
        control(url, "durations", {"generate_seconds": GENERATE_SECONDS})
        daphne, web = bench.start_daphne()
        worker = bench.manage("runjobs-job-event", "runjobs", env={**bench.env, "STASH_URL": url})
        started += [daphne, worker]
        clients = Clients(bench, web, login_cookie(bench, web), processes=1, per_process=1, subscribe="jobs")
        started += clients.start()
        clients.wait_ready()
        with StashFeed(url) as feed, bench.cpu_usage(started):
            job = create_job("stash_generate", {"scene_ids": list(range(1, 51))})
            done = Job.objects.filter(pk=job.pk, finished_at__isnull=False)
            wait_for(lambda: bench.check_alive(*started) or done.exists(), GENERATE_SECONDS + 120, "the generate job")
            time.sleep(0.5)  # the last pushes on their way to the client
            updates = _stash_updates(feed.snapshot())
    finally:
        bench.stop(clients.procs if clients else [])  # first, so daphne's exit is not a socket error
        bench.stop(started)
    job.refresh_from_db()
    Job.objects.all().delete()
    if job.status != "completed":
        raise RuntimeError(f"the generate job ended {job.status}: {job.error[:2000]}")
    pushes = _progress_pushes(clients.results(), str(job.pk))
    latencies = _latencies(updates, pushes)
    if len(latencies) < len(updates) * 0.9 or len(latencies) < 50:
        raise RuntimeError(f"only {len(latencies)} of {len(updates)} Stash updates reached the dashboard")
    note(
        f"{len(latencies)} Stash progress updates → dashboard: p50 {percentile(latencies, 50):.1f} ms, "
        f"max {max(latencies):.1f} ms ({len(pushes)} pushes of the job)"
    )
    emit("stash_job_event_p95", percentile(latencies, 95), "ms")


def _stash_updates(records) -> list[tuple[float, float]]:
    """(arrival, progress in % rounded like our push) of each generate UPDATE with a new value."""
    updates, last, first = [], None, None
    for stamp, event in records:
        job = event.job or {}
        if event.kind != "UPDATE" or job.get("status") != "RUNNING" or job.get("progress") is None:
            continue
        first = first or stamp
        value = round(float(job["progress"]) * 100, 1)
        if value != last and value < 99.0 and stamp - first >= WARMUP_SECONDS:
            updates.append((stamp, value))
        last = value
    return updates


def _progress_pushes(sockets: list[dict], job_id: str) -> list[tuple[float, float]]:
    """(received, progress) of each push of the job to the dashboard client."""
    pushes = []
    for received, text in sockets[0]["records"]:
        message = json.loads(text)
        job = message.get("job") if message.get("type") == "job" else None
        if job and str(job.get("id")) == job_id and job.get("progress") is not None:
            pushes.append((received, float(job["progress"])))
    return pushes


def _latencies(updates, pushes) -> list[float]:
    latencies, start = [], 0
    for arrival, value in updates:
        while start < len(pushes) and pushes[start][1] < value - 1e-6:
            start += 1
        if start < len(pushes):
            latencies.append((pushes[start][0] - arrival) * 1000)
    return latencies
