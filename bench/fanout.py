"""fanout_delivered_ratio and fanout_p99: 5 daemons × ~20 status updates/s to 50 connected clients.

Five Test daemons (the built-in `test` and bench-1..bench-4, 0.1 s interval, two statuses per iteration)
run in five `rundaemon` processes for RUN_SECONDS while 50 authenticated sockets (spread over
CLIENT_PROCESSES client processes) are connected to one daphne. The daemons start only after every socket
has its snapshot and are stopped before the sockets close, so every update falls inside the window; the
sockets get DRAIN_SECONDS after the last daemon stopped to receive what is still on its way.

Updates published: counted in the database, independently of any client, by a trigger this benchmark puts
on the daemon table (one row per write that changes status_updated_at); the trigger is removed afterwards.
Ratio = deliveries (first copy of each published update per socket) / (published × sockets).
"""

import math
import re
import time

from bench.common import Bench, emit, note, percentile, run_sql, wait_for
from bench.live import STATUS, Clients, login_cookie, status_deliveries

EXTRA_DAEMONS = [f"bench-{n}" for n in range(1, 5)]
CONFIG = {"interval_seconds": 0.1, "launch_jobs": False, "log_every": 0}
SOCKETS = 50
CLIENT_PROCESSES = 5
RUN_SECONDS = 10.0
DRAIN_SECONDS = 5.0

AUDIT = (
    "CREATE TABLE bench_status_writes (daemon_id bigint, status text, status_updated_at timestamptz)",
    """CREATE FUNCTION bench_record_status() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO bench_status_writes VALUES (NEW.id, NEW.current_status, NEW.status_updated_at);
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER bench_record_status AFTER UPDATE ON {table} FOR EACH ROW
       WHEN (NEW.current_status IS NOT NULL AND NEW.status_updated_at IS DISTINCT FROM OLD.status_updated_at)
       EXECUTE FUNCTION bench_record_status()""",
)
UNAUDIT = (
    "DROP TRIGGER IF EXISTS bench_record_status ON {table}",
    "DROP FUNCTION IF EXISTS bench_record_status()",
    "DROP TABLE IF EXISTS bench_status_writes",
)


def run(bench: Bench):
    from daemons.models import Daemon

    rows = prepare_daemons()
    run_sql(AUDIT, table=Daemon._meta.db_table)
    try:
        per_socket = drive(bench, rows)
        published = published_updates()
    finally:
        run_sql(UNAUDIT, table=Daemon._meta.db_table)
        Daemon.objects.filter(name__in=EXTRA_DAEMONS).delete()
    report(published, per_socket)


def prepare_daemons() -> list:
    from daemons import services
    from daemons.models import Daemon

    test = services.update_configuration(Daemon.objects.get(name="test"), CONFIG, partial=True)
    extra = [Daemon.objects.create(name=n, kind="test", configuration=test.configuration) for n in EXTRA_DAEMONS]
    return [test, *extra]


def _dropped_by_layer(bench: Bench, hosts: list) -> int:
    """Copies channels_redis refused because a receiving process's inbox was full (it logs each group_send)."""
    pattern = re.compile(r"(\d+) of \d+ channels over capacity")
    return sum(int(n) for host in hosts for n in pattern.findall(bench.output(host)))


def drive(bench: Bench, rows: list) -> list:
    started = []
    try:
        daphne, url = bench.start_daphne()
        started.append(daphne)
        hosts = [bench.manage(f"rundaemon-{r.name}", "rundaemon", r.name) for r in rows]
        started += hosts
        bench.wait_hosted(hosts, rows)
        clients = Clients(bench, url, login_cookie(bench, url), CLIENT_PROCESSES, SOCKETS // CLIENT_PROCESSES)
        started += clients.start()
        clients.wait_ready()
        with bench.cpu_usage(started):
            run_daemons(rows)
            time.sleep(DRAIN_SECONDS)
        bench.check_alive(daphne, *hosts)
        bench.stop(clients.procs)
        dropped = _dropped_by_layer(bench, hosts)
        if dropped:
            note(f"the channel layer dropped {dropped} copies: daphne's inbox was over capacity (backlog)")
    finally:
        bench.stop(started)
    return status_deliveries(clients.results(), {r.name for r in rows})


def run_daemons(rows: list):
    """Start every daemon, let them run RUN_SECONDS, stop them and wait until their loops have ended."""
    from daemons import services
    from daemons.models import ActualState, Daemon

    for row in rows:
        services.start(row)
    time.sleep(RUN_SECONDS)
    for row in rows:
        services.stop(row)
    stopped = Daemon.objects.filter(pk__in=[r.pk for r in rows], actual_state=ActualState.STOPPED)
    wait_for(lambda: stopped.count() == len(rows), 30, "the daemons to stop")


def published_updates() -> set[tuple[str, float]]:
    """(daemon, status_updated_at) of every Test-daemon status written, as recorded by the trigger."""
    from django.db import connection

    from daemons.models import Daemon

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.name, w.status, w.status_updated_at FROM bench_status_writes w "
            f"JOIN {Daemon._meta.db_table} d ON d.id = w.daemon_id"
        )
        return {(name, at.timestamp()) for name, status, at in cursor.fetchall() if STATUS.match(status)}


def report(published: set, per_socket: list):
    delivered = [[d for d in deliveries if (d.daemon, d.sent) in published] for deliveries in per_socket]
    count = sum(len(deliveries) for deliveries in delivered)
    latencies = [d.latency_ms for deliveries in delivered for d in deliveries]
    if not latencies:
        raise RuntimeError(f"no client received any of the {len(published)} published updates")
    per_daemon = {}
    for name, _ in published:
        per_daemon[name] = per_daemon.get(name, 0) + 1
    note(
        f"{len(published)} updates published ({len(published) / RUN_SECONDS:.0f}/s: "
        + ", ".join(f"{n} {c}" for n, c in sorted(per_daemon.items()))
        + f"); {count} of {len(published) * len(per_socket)} deliveries to {len(per_socket)} sockets; "
        f"latency p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    # Truncated, not rounded: 1.0000 only when every update reached every socket.
    ratio = math.floor(count / (len(published) * len(per_socket)) * 10_000) / 10_000
    emit("fanout_delivered_ratio", f"{ratio:.4f}", "ratio")
    emit("fanout_p99", percentile(latencies, 99), "ms")
