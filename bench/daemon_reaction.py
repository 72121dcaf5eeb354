"""daemon_reaction_p95: a job the daemon waits on ends → the daemon's next status reaches a WebSocket client.

Processes: daphne, `rundaemon test`, one `runjobs` worker, Redis, and one WebSocket client process
subscribed to the daemons list. The Test daemon launches a short test job every iteration and watches it
(a watched job is polled every second, the fallback); when the job ends it says "Sleeping for … seconds".
Reaction = the client's receive time of that status − the job's finished_at (taken by the worker just
before it writes the end). The first WARMUP jobs are left out.
"""

import json
import time
from datetime import datetime

from bench.common import Bench, emit, note, percentile, wait_for
from bench.live import Clients, login_cookie

CONFIG = {
    "interval_seconds": 0.1,
    "launch_jobs": True,
    "job_every": 1,
    "job_steps": 1,
    "job_step_seconds": 0.05,
    "log_every": 0,
}
JOBS = 100
WARMUP = 5


def run(bench: Bench):
    from daemons import services
    from daemons.models import Daemon
    from jobs.models import Job, JobStatus

    daemon = services.update_configuration(Daemon.objects.get(name="test"), CONFIG, partial=True)
    started = []
    try:
        daphne, url = bench.start_daphne()
        worker = bench.manage("runjobs-reaction", "runjobs")
        host = bench.manage("rundaemon-reaction", "rundaemon", "test")
        started += [daphne, worker, host]
        bench.wait_hosted([host], [daemon])
        clients = Clients(bench, url, login_cookie(bench, url), processes=1, per_process=1)
        started += clients.start()
        clients.wait_ready()
        done = Job.objects.filter(created_by=daemon.name, status=JobStatus.COMPLETED)
        with bench.cpu_usage(started):
            services.start(daemon)
            wait_for(lambda: bench.check_alive(daphne, worker, host) or done.count() >= JOBS + WARMUP, 180, "jobs")
            services.stop(daemon)
        time.sleep(0.5)  # the last status on its way to the client
    finally:
        bench.stop(started)
    ends = sorted(done.values_list("finished_at", flat=True))[WARMUP:]
    Job.objects.all().delete()
    reactions = _reactions([e.timestamp() for e in ends], _sleeping_statuses(clients.results(), daemon.name))
    if len(reactions) < JOBS * 0.9:
        raise RuntimeError(f"only {len(reactions)} reactions seen for {len(ends)} job ends")
    note(
        f"reaction over {len(reactions)} job ends: p50 {percentile(reactions, 50):.1f} ms, max {max(reactions):.1f} ms"
    )
    emit("daemon_reaction_p95", percentile(reactions, 95), "ms")


def _sleeping_statuses(sockets: list[dict], name: str) -> list[tuple[float, float]]:
    """(status_updated_at, received) of each "Sleeping for" status of the daemon, first copy only."""
    seen, statuses = set(), []
    for received, text in sockets[0]["records"]:
        message = json.loads(text)
        state = message.get("daemon") if message.get("type") == "daemon" else None
        if not state or state["name"] != name or not (state.get("current_status") or "").startswith("Sleeping for"):
            continue
        if state["status_updated_at"] in seen:
            continue
        seen.add(state["status_updated_at"])
        statuses.append((datetime.fromisoformat(state["status_updated_at"]).timestamp(), received))
    return statuses


def _reactions(ends: list[float], statuses: list[tuple[float, float]]) -> list[float]:
    """For each job end, the receipt of the first "Sleeping for" status written after it, in ms."""
    reactions = []
    for end in ends:
        after = [received for written, received in statuses if written >= end]
        if after:
            reactions.append((min(after) - end) * 1000)
    return reactions
