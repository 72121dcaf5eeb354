"""Memory at idle: daemon_host_rss_mb / daemon_host_pss_mb (one `rundaemon test` host, its daemon stopped,
after HOST_IDLE_SECONDS) and stack_idle_pss_mb (every process `manage.py runstack` starts, idle after
STACK_IDLE_SECONDS).

PSS (proportional set size, /proc/<pid>/smaps_rollup) charges each shared page to the processes sharing
it in equal parts, so summing it over the stack counts memory shared between processes (forked after
Django is loaded, or the same libraries) once. Values are in MB (10^6 bytes).

runstack runs on the benchmark database with its own PORT and DATA_DIR and without REDIS_URL, so it starts
its embedded Redis as `make run` does by default; that redis-server is part of the sum.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time

from bench.common import (
    ROOT,
    Bench,
    cmdline,
    emit,
    free_port,
    note,
    process_tree,
    pss_mb,
    rss_mb,
    start_time,
    wait_for,
)

HOST_IDLE_SECONDS = 5.0
STACK_IDLE_SECONDS = 60.0
STACK_STOP_SECONDS = 20.0


def run(bench: Bench):
    measure_host(bench)
    if not any(ROOT.glob("*/management/commands/runstack.py")):
        note("manage.py runstack does not exist yet: stack_idle_pss_mb skipped")
        print("BENCH stack_idle_pss_mb skipped", flush=True)
        return
    measure_stack(bench)


def measure_host(bench: Bench):
    from daemons import services
    from daemons.models import Daemon

    daemon = services.stop(Daemon.objects.get(name="test"))
    host = bench.manage("rundaemon-idle", "rundaemon", "test")
    try:
        bench.wait_hosted([host], [daemon])
        time.sleep(HOST_IDLE_SECONDS)
        bench.check_alive(host)
        rss, pss = rss_mb(host.pid), pss_mb(host.pid)
    finally:
        bench.stop([host])
    emit("daemon_host_rss_mb", rss, "MB")
    emit("daemon_host_pss_mb", pss, "MB")


def measure_stack(bench: Bench):
    port = free_port()
    env = {**bench.env, "PORT": str(port), "DATA_DIR": str(bench.tmp / "stack-data")}
    env.pop("REDIS_URL", None)
    stack = bench.manage("runstack", "runstack", env=env)
    members: dict[int, int | None] = {}
    try:
        wait_for(lambda: _serving(bench, stack, port), 120, f"runstack to serve on port {port}", interval=0.2)
        note(f"runstack is up; idling {STACK_IDLE_SECONDS:g} s")
        time.sleep(STACK_IDLE_SECONDS)
        bench.check_alive(stack)
        members = {pid: start_time(pid) for pid in process_tree(stack.pid)}
        total = 0.0
        for pid in members:
            pss = pss_mb(pid)
            total += pss
            note(f"  {pss:7.1f} MB PSS  pid {pid}  {cmdline(pid)[:110]}")
    finally:
        _stop_stack(bench, stack, members)
    emit("stack_idle_pss_mb", total, "MB")


def _serving(bench: Bench, stack, port: int) -> bool:
    bench.check_alive(stack)
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _stop_stack(bench: Bench, stack, members: dict[int, int | None]):
    """Ctrl-C the supervisor, then make sure none of the processes it started outlives it."""
    members = members or {pid: start_time(pid) for pid in process_tree(stack.pid)}
    if stack.poll() is None:
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(timeout=STACK_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            note(f"runstack did not stop within {STACK_STOP_SECONDS:g} s of SIGINT")
    bench.stop([stack])
    for pid, started in members.items():
        # Same pid and same start time: still the process the stack started, not a reused pid.
        if pid != stack.pid and started is not None and start_time(pid) == started:
            note(f"runstack left pid {pid} ({cmdline(pid)[:80]}) running; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
