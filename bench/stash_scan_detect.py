"""stash_scan_detect_p95: a scan is added to Stash's queue during a generation → the generation daemon's
"Cancelling generation due to scan jobs" status reaches a WebSocket client of our dashboard.

Processes: the Stash emulator (`manage.py stashemulator`), daphne, one `runjobs` worker, an
`auto_stash_generation` host with its default `monitor_interval_seconds` (30; job_interval_seconds 1 so
rounds follow each other quickly), Redis, and a WebSocket client process on the daemons list. Every scene
of the mirror is ungenerated, so the daemon starts a generation (a long one) again after each cancel. Each
round: once Stash runs the generation, wait a random 0.3-2 s (the scan lands anywhere in the daemon's
wait), add a scan as Stash's own UI would (the emulator's `scan` control) and note the wall time just
before. Detection = the client's receive time of the daemon's next "Cancelling generation due to scan
jobs" status − that time. A second pass with Stash refusing WebSocket upgrades measures the polling
fallback (printed, not a result).
"""

import json
import random
import time

from bench.common import Bench, emit, note, percentile, wait_for
from bench.live import Clients, login_cookie
from bench.stash_events import control, start_emulator

ROUNDS = 20
FALLBACK_ROUNDS = 5
WARMUP = 1
STATUS = "Cancelling generation due to scan jobs"
CONFIG = {"job_interval_seconds": 1, "monitor_interval_seconds": 30}


def run(bench: Bench):
    from daemons import services
    from daemons.models import Daemon
    from jobs.models import Job

    daemon = services.update_configuration(Daemon.objects.get(name="auto_stash_generation"), CONFIG, partial=True)
    started, clients = [], None
    try:
        url, emulator = start_emulator(bench, "emulator-scan-detect", scenes=50)
        started.append(emulator)
        control(url, "durations", {"generate_seconds": 600, "scan_seconds": 0.2})
        _mirror_ungenerated(url)
        env = {**bench.env, "STASH_URL": url}
        daphne, web = bench.start_daphne()
        worker = bench.manage("runjobs-scan-detect", "runjobs", env=env)
        host = bench.manage("rundaemon-scan-detect", "rundaemon", daemon.name, env=env)
        started += [daphne, worker, host]
        bench.wait_hosted([host], [daemon])
        clients = Clients(bench, web, login_cookie(bench, web), processes=1, per_process=1)
        started += clients.start()
        clients.wait_ready()
        with bench.cpu_usage(started):
            services.start(daemon)
            live = [_round(bench, url, started) for _ in range(ROUNDS + WARMUP)][WARMUP:]
            control(url, "subscriptions", {"refuse": True})
            control(url, "drop-subscriptions")
            fallback = [_round(bench, url, started) for _ in range(FALLBACK_ROUNDS)]
            services.stop(daemon)
        time.sleep(0.5)  # the last status on its way to the client
    finally:
        bench.stop(clients.procs if clients else [])  # first, so daphne's exit is not a socket error
        bench.stop(started)
    Job.objects.all().delete()
    statuses = _statuses(clients.results(), daemon.name)
    detections = _detections(live, statuses)
    if len(detections) < ROUNDS * 0.9:
        raise RuntimeError(f"only {len(detections)} of {ROUNDS} scans were seen")
    polled = _detections(fallback, statuses)
    note(
        f"scan → status over {len(detections)} scans: p50 {percentile(detections, 50):.0f} ms, "
        f"max {max(detections):.0f} ms; without subscriptions (polling) over {len(polled)}: "
        f"p50 {percentile(polled, 50) if polled else float('nan'):.0f} ms, max {max(polled, default=0):.0f} ms"
    )
    emit("stash_scan_detect_p95", percentile(detections, 95), "ms")


def _mirror_ungenerated(url: str):
    from stash.connection.client import StashClient
    from stash.models import Scene
    from stash.sync.run import SyncOptions, SyncRun

    SyncRun(StashClient(url), SyncOptions(full=True)).run()
    Scene.objects.update(generated=False)


def _round(bench: Bench, url: str, procs) -> float:
    """One generation interrupted by a scan; returns the wall time just before the scan was added."""
    wait_for(
        lambda: bench.check_alive(*procs) or _running_generation(url),
        60,
        "Stash to run a generation",
        interval=0.02,
    )
    time.sleep(random.uniform(0.3, 2.0))
    added = time.time()
    control(url, "scan", {})
    wait_for(lambda: bench.check_alive(*procs) or not _running_generation(url), 60, "the generation to stop")
    return added


def _running_generation(url: str) -> bool:
    queue = control_state(url)["jobs"]["queue"]
    return any(j["status"] == "RUNNING" and not j["description"].lower().startswith("scan") for j in queue)


def control_state(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"{url}/_emulator/state", timeout=30) as response:
        return json.load(response)


def _statuses(sockets: list[dict], name: str) -> list[float]:
    """Receive times of the daemon's "Cancelling generation" statuses, first copy of each."""
    seen, received_at = set(), []
    for received, text in sockets[0]["records"]:
        message = json.loads(text)
        state = message.get("daemon") if message.get("type") == "daemon" else None
        if not state or state["name"] != name or state.get("current_status") != STATUS:
            continue
        if state["status_updated_at"] in seen:
            continue
        seen.add(state["status_updated_at"])
        received_at.append(received)
    return sorted(received_at)


def _detections(added: list[float], statuses: list[float]) -> list[float]:
    detections = []
    for moment in added:
        after = [received for received in statuses if received >= moment]
        if after:
            detections.append((min(after) - moment) * 1000)
    return detections
