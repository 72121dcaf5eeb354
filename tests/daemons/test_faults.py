"""Daemon hosts under faults (issue 14, items 13, 15, 16, 18): real `rundaemon` processes against the test
database, its connections terminated, the host paused past its lease, Stash hanging."""

import os
import signal
import time

import pytest
from django.utils import timezone

from daemons import services
from daemons.models import ActualState, Daemon, DaemonJobHistory, DaemonLog
from jobs.models import Job, JobStatus
from tests.conftest import wait_for
from tests.faults import SilentServer, terminate_backends

pytestmark = pytest.mark.processes


@pytest.fixture
def silent_stash():
    with SilentServer() as server:
        yield server


def row(name="test") -> Daemon:
    return Daemon.objects.get(name=name)


def configure(name="test", **config):
    services.update_configuration(row(name), config, partial=True)


def test_a_host_whose_connections_are_terminated_carries_on_within_seconds(processes):
    # The plan applier runs its queries on worker threads (in_thread) and the host's on another: both
    # must come back without the process being restarted.
    services.ensure_daemon_rows()
    configure("auto_plan_applier", job_interval_seconds=1)
    services.start(row("auto_plan_applier"))
    host = processes.manage("rundaemon", "auto_plan_applier")
    wait_for(lambda: (row("auto_plan_applier").current_status or "").startswith("No plans"), timeout=30)

    terminated = terminate_backends()
    assert terminated >= 1
    cut = timezone.now()
    began = time.monotonic()

    def carries_on():
        d = row("auto_plan_applier")
        return (
            d.actual_state == ActualState.RUNNING
            and d.status_updated_at > cut
            and (d.current_status or "").startswith("No plans")
        )

    # Another full cycle after the cut, twice (each cycle's queries run on the in_thread pool).
    wait_for(carries_on, timeout=15, message="the daemon to carry on after its connections were ended")
    first = row("auto_plan_applier").status_updated_at
    wait_for(lambda: row("auto_plan_applier").status_updated_at > first, timeout=10, message="a second cycle")
    print(f"MEASURE daemon host recovered {time.monotonic() - began:.2f} s after pg_terminate_backend")
    assert host.poll() is None
    assert time.monotonic() - began < 10


def active_and_standby(processes, *, interval: float, control_poll: float):
    """The test daemon running, logging every step, on a first host with a second one waiting as standby."""
    services.ensure_daemon_rows()
    configure(interval_seconds=interval, launch_jobs=False, log_every=1)
    services.start(row())
    env = {**processes.env, "DAEMON_CONTROL_POLL_SECONDS": str(control_poll)}
    first = processes.manage("rundaemon", "test", env=env)
    wait_for(lambda: row().lease_pid == first.pid and row().current_status, timeout=30, message="first host active")
    second = processes.manage("rundaemon", "test", env=env)
    wait_for(lambda: "standby" in processes.output(second), timeout=30, message="second host on standby")
    return first, second


def test_a_host_paused_past_its_lease_writes_nothing_once_resumed(processes):
    # A host frozen (SIGSTOP) past its lease loses it to the standby; resumed, its loop's pending step
    # comes due before its next control step: fencing must keep that step from writing or launching.
    first, second = active_and_standby(processes, interval=0.05, control_poll=1.0)

    os.kill(first.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: row().lease_pid == second.pid, timeout=20, message="the standby to take over")
        taken = timezone.now()
        wait_for(
            lambda: DaemonLog.objects.filter(message__contains=f"pid {second.pid}", created_at__gt=taken).exists(),
            timeout=15,
            message="the loop running on the new host",
        )
    finally:
        os.kill(first.pid, signal.SIGCONT)
    wait_for(lambda: "lease lost" in processes.output(first), timeout=15, message="the old host to notice")
    time.sleep(1.0)  # what the old host would still write comes within its next steps
    late = DaemonLog.objects.filter(message__contains=f"pid {first.pid}", created_at__gt=taken)
    assert list(late.values_list("message", flat=True)) == []
    assert row().lease_pid == second.pid
    assert first.poll() is None  # it waits as a standby again


def freeze_inside_a_transaction(pid: int, timeout: float = 30) -> None:
    """SIGSTOP the process at a moment its database session is idle inside a transaction (one of its
    fenced writes holds the Daemon row's lock): stop, look, resume and retry until caught there."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        os.kill(pid, signal.SIGSTOP)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'orchestrator:rundaemon:test' AND state = 'idle in transaction'"
            )
            if cursor.fetchone()[0]:
                return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.002)
    raise AssertionError(f"process {pid} was never caught inside a transaction")


def test_a_host_frozen_inside_a_fenced_write_does_not_block_the_takeover(processes):
    # The frozen host holds the Daemon row's lock (SELECT … FOR UPDATE of its fenced write): PostgreSQL
    # must end that session (idle_in_transaction_session_timeout = the lease) so the standby's UPDATE
    # is not kept waiting forever, and the write the frozen host had under way must never land.
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the idle-in-transaction timeout is PostgreSQL's")
    first, second = active_and_standby(processes, interval=0.01, control_poll=0.5)

    freeze_inside_a_transaction(first.pid)
    logs_of_first = DaemonLog.objects.filter(message__contains=f"pid {first.pid}")
    written = logs_of_first.count()  # the one under way is not committed, so not counted
    try:
        began = time.monotonic()
        wait_for(lambda: row().lease_pid == second.pid, timeout=20, message="the standby to take over")
        print(f"MEASURE standby took over {time.monotonic() - began:.2f} s after freezing the host in a write")
    finally:
        os.kill(first.pid, signal.SIGCONT)
    wait_for(lambda: "lease lost" in processes.output(first), timeout=15, message="the old host to notice")
    assert logs_of_first.count() == written
    assert row().lease_pid == second.pid
    assert first.poll() is None  # it reconnects and waits as a standby


def test_sigterm_ends_a_host_within_10_s_while_a_stash_call_hangs(processes, silent_stash):
    services.ensure_daemon_rows()
    services.start(row("auto_stash_sync"))
    env = {**processes.env, "STASH_URL": silent_stash.url}
    host = processes.manage("rundaemon", "auto_stash_sync", env=env)
    wait_for(lambda: silent_stash.requests >= 1, timeout=30, message="a Stash call in flight")
    began = time.monotonic()
    host.send_signal(signal.SIGTERM)
    code = host.wait(timeout=12)
    took = time.monotonic() - began
    print(f"MEASURE daemon host exited {took:.2f} s after SIGTERM with a Stash call in flight")
    assert code == 0
    assert took < 10
    assert row("auto_stash_sync").lease_owner == ""


def test_a_new_host_records_the_outcome_of_a_job_that_ended_between_hosts(processes):
    services.ensure_daemon_rows()
    configure(interval_seconds=0.2, launch_jobs=True, job_every=0, job_steps=2, job_step_seconds=0.1, log_every=0)
    services.start(row())
    first = processes.manage("rundaemon", "test")
    launched = wait_for(
        lambda: DaemonJobHistory.objects.filter(action="LAUNCHED").first(), timeout=30, message="a launched job"
    )
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=5)
    # The job runs and ends while no host is active.
    processes.manage("runjobs")
    wait_for(lambda: Job.objects.get(pk=launched.job_uuid).status == JobStatus.COMPLETED, timeout=30)
    processes.manage("rundaemon", "test")
    outcome = wait_for(
        lambda: DaemonJobHistory.objects.filter(job_uuid=launched.job_uuid, action="FINISHED").first(),
        timeout=30,
        message="the FINISHED row of the predecessor's job",
    )
    assert "completed" in outcome.reason
    # Recorded once, however many steps and hosts looked since.
    time.sleep(1.0)
    assert DaemonJobHistory.objects.filter(job_uuid=launched.job_uuid, action="FINISHED").count() == 1
