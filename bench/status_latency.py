"""status_latency_p50/p95/p99: update_status() in a `rundaemon` process → a WebSocket client; update_status_p50.

Path measured: the Test daemon's loop (interval 5 ms, no jobs, no logs) in `manage.py rundaemon test` →
the write of its row and the live push (channel layer on Redis) → daphne → one authenticated WebSocket
client in its own process: from the status_updated_at that update_status() stamps to the client's
receipt. The client keeps the first MESSAGES pushes; the first WARMUP status updates are left out (first
render, first Redis round trip). update_status_p50 is the cost of `await daemon.update_status(…)` itself,
timed in this process on a real TestDaemon against PG and Redis.
"""

import asyncio
import time

from bench.common import Bench, emit, note, percentile
from bench.live import Clients, login_cookie, status_deliveries

CONFIG = {"interval_seconds": 0.005, "launch_jobs": False, "log_every": 0}
MESSAGES = 1300
WARMUP = 20
MIN_UPDATES = 1000
CALLS = 2000


def run(bench: Bench):
    from daemons import services
    from daemons.models import Daemon

    daemon = services.update_configuration(Daemon.objects.get(name="test"), CONFIG, partial=True)
    latencies = measure_push_latency(bench, daemon)
    if len(latencies) < MIN_UPDATES:
        raise RuntimeError(f"only {len(latencies)} status updates reached the client (need {MIN_UPDATES})")
    note(f"status latency over {len(latencies)} updates: min {min(latencies):.2f} ms, max {max(latencies):.2f} ms")
    for p in (50, 95, 99):
        emit(f"status_latency_p{p}", percentile(latencies, p), "ms")
    costs = measure_update_status_cost(daemon)
    note(f"update_status over {len(costs)} calls: p95 {percentile(costs, 95):.2f}, p99 {percentile(costs, 99):.2f} ms")
    emit("update_status_p50", percentile(costs, 50), "ms")


def measure_push_latency(bench: Bench, daemon) -> list[float]:
    from daemons import services

    started = []
    try:
        daphne, url = bench.start_daphne()
        started.append(daphne)
        host = bench.manage("rundaemon-test", "rundaemon", "test")
        started.append(host)
        bench.wait_hosted([host], [daemon])
        clients = Clients(bench, url, login_cookie(bench, url), processes=1, per_process=1, max_messages=MESSAGES)
        started += clients.start()
        clients.wait_ready()
        begun = time.monotonic()
        with bench.cpu_usage(started):
            services.start(daemon)
            if not clients.wait_done(timeout=120):
                note("the client did not receive all messages in time; using what it got")
        note(f"{MESSAGES} pushes received in {time.monotonic() - begun:.1f} s")
        services.stop(daemon)
        bench.check_alive(daphne, host)
    finally:
        bench.stop(started)
    (deliveries,) = status_deliveries(clients.results(), {daemon.name})
    return [d.latency_ms for d in deliveries[WARMUP:]]


def measure_update_status_cost(daemon) -> list[float]:
    """Time each `await update_status()` of a real TestDaemon (no host process runs it meanwhile)."""
    from daemons import services
    from daemons.kinds.test import TestDaemon
    from orchestrator.dbtag import tag_connection
    from orchestrator.live.publisher import flush

    # The same per-process database settings as `manage.py rundaemon` (relaxed commits); they apply to
    # the connection that update_status()'s DB thread opens below.
    tag_connection("bench:update_status", relaxed_commits=True)

    async def calls() -> list[float]:
        subject = TestDaemon(daemon.pk, daemon.name, services.effective_config(daemon))
        timings = []
        for n in range(CALLS + WARMUP):
            began = time.perf_counter()
            await subject.update_status(f"Iteration {n}: checking for work")
            timings.append((time.perf_counter() - began) * 1000)
        return timings[WARMUP:]

    timings = asyncio.run(calls())
    flush(10.0)
    services.clear_status(daemon.pk)
    return timings
