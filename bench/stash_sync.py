"""Sync throughput against the Stash emulator over HTTP, with a real `runjobs` worker on PostgreSQL.

- sync_full_10k_scenes_per_s, sync_full_100k_scenes_per_s: a full `sync` job of a library of that size,
  from the job's started_at to its finished_at (tags, performers and studios included).
- sync_incremental_100_of_100k_s: 100 scenes edited in the emulator after the full sync of 100,000; the
  duration of the incremental `sync` job that brings them in.
- sync_full_100k_peak_rss_mb: the worker process's peak resident memory (VmHWM) over the 100k full sync
  (a fresh worker per library size, so the peak is this sync's).
The emulator runs as its own process (`manage.py stashemulator`), as Stash would.
"""

import json
import time
import urllib.request

from bench.common import Bench, emit, free_port, note, wait_for

SIZES = (10_000, 100_000)
EDITED = 100
SYNC_TIMEOUT = 900.0


def run(bench: Bench):
    for size in SIZES:
        url, emulator = start_emulator(bench, size)
        worker = bench.manage(f"sync-worker-{size}", "runjobs", "--concurrency", "1", env=worker_env(bench, url))
        try:
            clear_mirror()
            job = run_sync(bench, worker, full=True)
            seconds = (job.finished_at - job.started_at).total_seconds()
            emit(f"sync_full_{size // 1000}k_scenes_per_s", round(size / seconds, 1), "scenes/s")
            note(f"full sync of {size} scenes: {seconds:.1f} s; result {short(job.result)}")
            if size == 100_000:
                emit("sync_full_100k_peak_rss_mb", round(peak_rss_mb(worker.pid), 1), "MB")
                edit_scenes(url, EDITED)
                job = run_sync(bench, worker, full=False)
                seconds = (job.finished_at - job.started_at).total_seconds()
                note(f"incremental sync after {EDITED} edits: result {short(job.result)}")
                emit("sync_incremental_100_of_100k_s", round(seconds, 2), "s")
        finally:
            bench.stop([worker, emulator])


def worker_env(bench: Bench, url: str) -> dict:
    return {**bench.env, "STASH_URL": url, "JOB_POLL_SECONDS": "0.05"}


def start_emulator(bench: Bench, scenes: int):
    port = free_port()
    proc = bench.manage(f"emulator-{scenes}", "stashemulator", "--port", str(port), "--scenes", str(scenes))
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: bench.check_alive(proc) or _answers(url), timeout=300, what="the emulator to serve")
    return url, proc


def _answers(url: str) -> bool:
    try:
        return "version" in graphql(url, "query { version { version } }")
    except OSError:
        return False


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response).get("data") or {}


def edit_scenes(url: str, count: int):
    """Edit `count` scenes "in Stash" through the emulator's test controls (bumps their updated_at)."""
    time.sleep(1.1)  # Stash's times have one-second resolution: make the edits strictly newer
    for scene_id in range(1, count * 50, 50):
        body = json.dumps({"title": f"Edited for the benchmark {scene_id}"}).encode()
        request = urllib.request.Request(
            f"{url}/_emulator/scenes/{scene_id}", body, {"Content-Type": "application/json"}, method="POST"
        )
        urllib.request.urlopen(request, timeout=30).close()


def clear_mirror():
    from stash.models import Performer, Scene, Studio, SyncCursor, Tag

    for model in (Scene, Tag, Performer, Studio, SyncCursor):
        model.objects.all().delete()


def run_sync(bench: Bench, worker, full: bool):
    from jobs.models import Job, JobStatus
    from jobs.services import create_job

    job = create_job("sync", {"full": full})
    wait_for(
        lambda: bench.check_alive(worker) or Job.objects.filter(pk=job.pk, finished_at__isnull=False).exists(),
        timeout=SYNC_TIMEOUT,
        what=f"the {'full' if full else 'incremental'} sync job",
        interval=0.2,
    )
    job.refresh_from_db()
    if job.status != JobStatus.COMPLETED:
        raise RuntimeError(f"sync job ended {job.status}: {job.error[:2000]}")
    return job


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def short(result: dict) -> str:
    return json.dumps({k: v for k, v in (result or {}).items() if k != "watermarks"})
