"""`manage.py daemonctl`: the status table, start/stop/restart, and the log tail (with --follow)."""

import signal
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from daemons import services
from daemons.models import ActualState, Daemon, DaemonLog, DesiredState
from tests.conftest import ROOT, known_daemons, wait_for


def run(*args) -> str:
    out = StringIO()
    call_command("daemonctl", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def daemon(db):
    services.ensure_daemon_rows()
    return Daemon.objects.get(name="test")


def fresh(name="test") -> Daemon:
    return Daemon.objects.get(name=name)


def add_logs(daemon, *entries):
    now = timezone.now()
    for n, (level, message) in enumerate(entries):
        log = DaemonLog.objects.create(daemon=daemon, level=level, message=message)
        DaemonLog.objects.filter(pk=log.pk).update(created_at=now - timedelta(seconds=len(entries) - n))


@pytest.mark.django_db
def test_status_prints_a_table_of_every_daemon(daemon):
    Daemon.objects.create(name="idle", kind="test", auto_start=True)
    Daemon.objects.filter(pk=daemon.pk).update(
        desired_state=DesiredState.RUNNING,
        actual_state=ActualState.RUNNING,
        current_status="Sleeping for 5 seconds",
        status_updated_at=timezone.now() - timedelta(seconds=12),
        status_next_at=timezone.now() + timedelta(minutes=4, seconds=10),
        lease_owner="token",
        heartbeat_at=timezone.now(),
        lease_host="box",
        lease_pid=4242,
    )
    lines = run("status").splitlines()
    headers = ["NAME", "DESIRED", "ACTUAL", "AUTO-START", "STATUS", "UPDATED", "NEXT-CHECK", "HOST/PID"]
    assert lines[0].split() == headers
    rows = {line.split()[0]: line for line in lines[1:]}
    assert [line.split()[0] for line in lines[1:]] == sorted(rows)  # one row per daemon, by name
    assert rows["idle"].split() == ["idle", "stopped", "stopped", "yes", "-", "-", "-", "-"]
    assert "in 4 min (" in rows["test"]
    assert rows["test"].split()[:4] == ["test", "running", "running", "no"]
    assert "Sleeping for 5 seconds" in rows["test"]
    assert "box/4242" in rows["test"]
    assert "12s ago" in rows["test"] or "13s ago" in rows["test"]
    # Columns line up: every row starts its STATUS cell where the header does.
    column = lines[0].index("STATUS")
    assert rows["test"][column:].startswith("Sleeping")


@pytest.mark.django_db
def test_status_flags_an_overdue_daemon(daemon, settings):
    overdue = timezone.now() - timedelta(seconds=settings.DAEMON_STALE_AFTER_SECONDS + 60)
    Daemon.objects.filter(pk=daemon.pk).update(
        actual_state=ActualState.RUNNING,
        current_status="Waiting for test job",
        status_updated_at=overdue - timedelta(seconds=1),
        status_next_at=overdue,
        lease_owner="host",
        heartbeat_at=timezone.now(),
    )
    output = run("status")
    assert "[stale] Waiting for test job" in output
    assert "due 3 min ago (" in output


@pytest.mark.django_db
def test_start_stop_and_restart_one_daemon(daemon):
    assert run("start", "test").strip() == "Daemon test start requested (desired state: running)."
    assert fresh().desired_state == DesiredState.RUNNING
    restarts = fresh().restart_requested
    assert "restart requested" in run("restart", "test")
    assert fresh().restart_requested == restarts + 1
    assert "stop requested" in run("stop", "test")
    assert fresh().desired_state == DesiredState.STOPPED


@pytest.mark.django_db
def test_bulk_start_stop_and_restart_with_all(daemon):
    Daemon.objects.create(name="alpha", kind="test", auto_start=False)
    names = sorted(Daemon.objects.values_list("name", flat=True))
    listed = ", ".join(names)
    # Like the dashboard's Start all: every stopped daemon, auto-start or not.
    assert run("start", "--all").strip() == f"Successfully started {len(names)} daemons: {listed}"
    assert fresh("alpha").desired_state == DesiredState.RUNNING
    assert run("start", "--all").strip() == "No daemons to start: every daemon is already running."
    assert run("restart", "--all").strip() == f"Successfully restarted {len(names)} daemons: {listed}"
    assert run("stop", "--all").strip() == f"Successfully stopped {len(names)} daemons: {listed}"
    assert run("stop", "--all").strip() == "No running daemons to stop."
    assert set(Daemon.objects.values_list("desired_state", flat=True)) == {DesiredState.STOPPED}


@pytest.mark.django_db
def test_unknown_names_and_ambiguous_arguments_are_errors(daemon):
    for args in (("start", "nope"), ("logs", "nope")):
        with pytest.raises(CommandError, match=f"Unknown daemon 'nope'. Known daemons: {known_daemons()}"):
            run(*args)
    with pytest.raises(CommandError, match="name or --all"):
        run("stop")
    with pytest.raises(CommandError, match="name or --all"):
        run("stop", "test", "--all")
    assert fresh().desired_state == DesiredState.STOPPED


@pytest.mark.django_db
def test_logs_prints_the_tail_oldest_first_at_a_level_and_above(daemon):
    add_logs(daemon, ("INFO", "one"), ("DEBUG", "two"), ("WARNING", "three"), ("ERROR", "four"), ("INFO", "five"))
    lines = run("logs", "test", "--tail", "3").splitlines()
    assert [line.split(None, 3)[2:] for line in lines] == [["WARNING", "three"], ["ERROR", "four"], ["INFO", "five"]]
    assert [line.split()[-1] for line in run("logs", "test", "--level", "warning").splitlines()] == ["three", "four"]
    assert run("logs", "test", "--tail", "0") == ""


def test_unknown_daemon_exits_non_zero_listing_known_names(proc_env):
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "daemonctl", "restart", "nope"],
        cwd=ROOT,
        env=proc_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"Unknown daemon 'nope'. Known daemons: {known_daemons()}" in done.stderr


@pytest.mark.processes
def test_logs_follow_prints_new_lines_until_interrupted(processes):
    daemon = Daemon.objects.get(name="test")
    add_logs(daemon, ("INFO", "before follow"))
    proc = processes.manage("daemonctl", "logs", "test", "--follow", "--level", "INFO")
    wait_for(lambda: "before follow" in processes.output(proc), timeout=30, message="the initial tail")

    services.add_log(daemon, "DEBUG", "too quiet to show")
    services.add_log(daemon, "WARNING", "appended while following")
    wait_for(lambda: "appended while following" in processes.output(proc), timeout=10, message="the new line")

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    output = processes.output(proc)
    assert output.count("before follow") == 1
    assert output.count("appended while following") == 1
    assert "too quiet to show" not in output
    assert "Traceback" not in output
