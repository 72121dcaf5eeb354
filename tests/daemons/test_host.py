"""The daemon host as a real process: `manage.py rundaemon <name>` subprocesses against the test DB."""

import os
import signal
import subprocess
import sys
import time

import pytest

from daemons import services
from daemons.models import ActualState, Daemon, DaemonJobHistory, DaemonLog, DesiredState
from jobs.models import Job, JobStatus
from tests.conftest import ROOT, known_daemons, wait_for

pytestmark = pytest.mark.processes

FAST = {"interval_seconds": 0.2, "launch_jobs": False, "log_every": 0}


def daemon(name="test") -> Daemon:
    return Daemon.objects.get(name=name)


def configure(**config):
    services.update_configuration(daemon(), {**FAST, **config}, partial=True)


def host_is_active(pid=None):
    d = daemon()
    return d.lease_owner != "" and (pid is None or d.lease_pid == pid)


def logs(text):
    return DaemonLog.objects.filter(daemon__name="test", message__contains=text).count()


def test_unknown_daemon_name_exits_non_zero_and_lists_known_names(proc_env):
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "rundaemon", "no_such_daemon"],
        env=proc_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Unknown daemon 'no_such_daemon'" in result.stderr
    assert f"Known daemons: {known_daemons()}" in result.stderr


def test_start_stop_and_restart_take_effect_and_stop_clears_status(processes):
    configure()
    host = processes.manage("rundaemon", "test")
    wait_for(lambda: host_is_active(host.pid), timeout=30, message="host to take the lease")

    services.start(daemon())
    d = wait_for(lambda: (d := daemon()).current_status and d, timeout=3, message="status after Start")
    assert d.actual_state == ActualState.RUNNING
    assert d.started_at is not None
    first_start = d.started_at

    services.restart(daemon())
    wait_for(lambda: daemon().started_at not in (None, first_start), timeout=3, message="restart")
    assert logs("Daemon restarting") == 1

    services.stop(daemon())
    wait_for(lambda: daemon().actual_state == ActualState.STOPPED, timeout=3, message="stop")
    d = daemon()
    assert d.current_status is None
    assert d.current_job_id is None and d.status_updated_at is None and d.started_at is None
    assert host.poll() is None  # a stopped daemon's host stays up and idle


def test_sigterm_clears_status_releases_lease_and_exits_zero(processes):
    configure()
    services.start(daemon())
    host = processes.manage("rundaemon", "test")
    wait_for(lambda: daemon().current_status, timeout=30, message="running status")

    host.send_signal(signal.SIGTERM)
    assert host.wait(timeout=10) == 0
    d = daemon()
    assert d.current_status is None and d.status_updated_at is None
    assert d.actual_state == ActualState.STOPPED
    assert d.desired_state == DesiredState.RUNNING  # a host restart resumes the daemon
    assert d.lease_owner == ""


def test_standby_takes_over_when_the_active_host_is_killed(processes):
    configure()
    services.start(daemon())
    first = processes.manage("rundaemon", "test")
    wait_for(lambda: host_is_active(first.pid) and daemon().current_status, timeout=30, message="first host")
    second = processes.manage("rundaemon", "test")
    wait_for(lambda: "standby" in processes.output(second), timeout=30, message="second host on standby")

    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=5)
    wait_for(lambda: host_is_active(second.pid), timeout=15, message="standby to take over")
    before = daemon().status_updated_at
    wait_for(lambda: daemon().status_updated_at != before, timeout=5, message="loop running on the standby")
    assert daemon().actual_state == ActualState.RUNNING


def test_a_duplicate_host_does_not_run_the_loop_twice(processes):
    configure()
    services.start(daemon())
    hosts = [processes.manage("rundaemon", "test") for _ in range(2)]
    wait_for(lambda: daemon().current_status, timeout=30, message="loop running")
    wait_for(lambda: all("started" in processes.output(h) for h in hosts), timeout=30, message="both hosts up")
    active = daemon().lease_pid
    assert active in {h.pid for h in hosts}
    # Ten control periods later the loop has still been started exactly once, by one host.
    time.sleep(2)
    assert logs("Daemon started on") == 1
    assert logs("Test daemon started with config") == 1
    assert daemon().lease_pid == active


def test_a_raising_loop_is_logged_shown_in_error_and_restarted(processes):
    configure(simulate_errors=True, error_every=2, interval_seconds=0.05)
    services.start(daemon())
    processes.manage("rundaemon", "test")
    wait_for(lambda: logs("Daemon crashed: SimulatedError") >= 1, timeout=30, message="crash logged")
    crash = DaemonLog.objects.filter(daemon__name="test", level="ERROR").first()
    assert "Traceback (most recent call last)" in crash.message
    d = wait_for(lambda: (d := daemon()).last_error and d, timeout=5, message="last error recorded")
    assert "SimulatedError" in d.last_error
    assert d.last_error_at is not None
    # It comes back by itself (backoff is capped at 1 s in tests) and crashes again.
    wait_for(lambda: logs("Daemon started on") >= 3, timeout=15, message="loop restarted with backoff")


def test_a_crash_is_visible_in_state_and_status(processes):
    configure(simulate_errors=True, error_every=1, interval_seconds=0.05)
    services.start(daemon())
    processes.manage("rundaemon", "test")
    d = wait_for(lambda: (d := daemon()).actual_state == ActualState.ERROR and d, timeout=30, message="error state")
    assert d.current_status.startswith("Error: SimulatedError")
    assert d.status_level == "error"
    assert d.status_next_at > d.status_updated_at  # the restart it waits for


def test_a_saved_configuration_reaches_the_running_daemon_without_a_restart(processes):
    configure(interval_seconds=0.3)
    services.start(daemon())
    host = processes.manage("rundaemon", "test")
    wait_for(lambda: daemon().current_status, timeout=30, message="running")
    started_at = daemon().started_at

    configure(interval_seconds=7)
    wait_for(lambda: daemon().current_status == "Sleeping for 7 seconds", timeout=5, message="new interval in use")
    assert logs("Configuration updated") == 1
    assert daemon().started_at == started_at  # the loop was not restarted
    assert host.poll() is None


def test_the_test_daemon_launches_and_watches_a_job_through_a_worker(processes):
    configure(launch_jobs=True, job_steps=3, job_step_seconds=0.3)
    services.start(daemon())
    processes.manage("rundaemon", "test")
    processes.manage("runjobs", "--concurrency", "2")

    d = wait_for(lambda: (d := daemon()).current_job_id and d, timeout=30, message="status with a job")
    assert d.current_job_type == "test"
    assert d.current_status.startswith("Waiting for test job")
    wait_for(lambda: DaemonJobHistory.objects.filter(action="FINISHED").exists(), timeout=15, message="job finished")
    actions = list(DaemonJobHistory.objects.order_by("created_at").values_list("action", "reason"))
    assert actions[0] == ("LAUNCHED", "Test job for iteration 1")
    assert actions[1] == ("FINISHED", "Job ended with status completed")
    assert str(DaemonJobHistory.objects.first().job_uuid) == d.current_job_id


def rundaemon(env, *args) -> subprocess.CompletedProcess:
    argv = [sys.executable, str(ROOT / "manage.py"), "rundaemon", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def test_once_runs_one_step_and_exits_zero_leaving_what_the_step_wrote(proc_env):
    configure(launch_jobs=True)
    result = rundaemon(proc_env, "test", "--once")
    assert result.returncode == 0, result.stderr
    assert "test: one step run; status: 'Waiting for test job (iteration 1)'" in result.stdout
    assert "next step in 1 s" in result.stdout
    [job] = Job.objects.filter(created_by="test")
    assert job.status == JobStatus.PENDING  # launched, never waited for
    assert list(DaemonJobHistory.objects.values_list("action", flat=True)) == ["LAUNCHED"]
    d = daemon()
    assert (d.current_status, d.current_job_id) == ("Waiting for test job (iteration 1)", str(job.pk))
    assert (d.lease_owner, d.actual_state, d.desired_state) == ("", ActualState.STOPPED, DesiredState.STOPPED)
    assert logs("Test daemon started with config") == 0  # the loop's line: no loop ran


def test_once_with_an_unknown_name_exits_non_zero_and_lists_known_names(proc_env):
    result = rundaemon(proc_env, "no_such_daemon", "--once")
    assert result.returncode != 0
    assert f"Unknown daemon 'no_such_daemon'. Known daemons: {known_daemons()}" in result.stderr


def test_once_is_refused_while_another_host_is_active(processes):
    configure()
    host = processes.manage("rundaemon", "test")
    wait_for(lambda: host_is_active(host.pid), timeout=30, message="host to take the lease")
    result = rundaemon(processes.env, "test", "--once")
    assert result.returncode != 0
    assert f"Daemon test is hosted by {daemon().lease_host}:{host.pid}" in result.stderr
    assert host_is_active(host.pid)
