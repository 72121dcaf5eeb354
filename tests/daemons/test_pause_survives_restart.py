"""A pause and quiet hours survive a restart of the whole stack (`manage.py runstack`, as `make run`
starts it; see tests/orchestrator/test_runstack.py): after the restart the paused daemon says "Paused
since …" again, from the same moment and by the same person, and starts nothing; the daemon outside its
quiet hours says so again."""

import os
import shutil
import signal
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from daemons import pause, services
from daemons.models import Daemon
from jobs.models import Job
from tests.conftest import free_port, wait_for

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

APPLIER = "auto_plan_applier"


def start_stack(processes, env):
    proc = processes.manage("runstack", env=env)
    url = f"http://127.0.0.1:{env['PORT']}"

    def serving():
        if proc.poll() is not None:
            raise AssertionError("runstack exited:\n" + processes.output(proc))
        try:
            return requests.get(url + "/login/", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or slow to answer under load
            return False

    wait_for(serving, timeout=90, message="runstack to serve /login/")
    return proc


def stop_stack(proc):
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0


def row(name: str) -> Daemon:
    return Daemon.objects.get(name=name)


def test_pause_and_quiet_hours_survive_a_restart_of_runstack(processes, tmp_path, demo_clips):
    shutil.copytree(demo_clips, tmp_path / "demo-media" / "clips", copy_function=os.link)
    env = dict(processes.env, DJANGO_SETTINGS_MODULE="orchestrator.settings")
    env.pop("REDIS_URL", None)  # its embedded Redis, as `make run` has it
    env.update(PORT=str(free_port()), DATA_DIR=str(tmp_path), JOB_CONCURRENCY="1")
    env["SECRET_KEY"] = str(settings.SECRET_KEY)
    services.ensure_daemon_rows()
    # The applier may work only in a window that opens in two hours; the test daemon is paused.
    opens = timezone.localtime() + timedelta(hours=2)
    window = f"{opens:%H:%M}-{opens + timedelta(hours=1):%H:%M}"
    services.update_configuration(row(APPLIER), {"quiet_hours": window}, partial=True)
    pause.pause(row("test"), by="admin")
    paused_at = row("test").paused_at
    for name in ("test", APPLIER):
        services.set_auto_start(row(name), True)
    paused = f"Paused since {timezone.localtime(paused_at):%H:%M} (by admin)"
    quiet = f"Quiet hours until {opens:%H:%M}"

    first = start_stack(processes, env)
    wait_for(lambda: row("test").current_status == paused, 60, message="the paused status")
    wait_for(lambda: row(APPLIER).current_status == quiet, 60, message="the quiet-hours status")
    stop_stack(first)
    # Stopping the stack clears every status: what shows after the restart was said anew.
    assert row("test").current_status is None and row(APPLIER).current_status is None

    second = start_stack(processes, env)
    wait_for(lambda: row("test").current_status == paused, 60, message="the paused status after the restart")
    wait_for(lambda: row(APPLIER).current_status == quiet, 60, message="quiet hours after the restart")
    daemon = row("test")
    assert daemon.paused_at == paused_at and daemon.paused_by == "admin" and daemon.actual_state == "running"
    assert not services.is_stale(daemon)
    assert not Job.objects.filter(created_by__in=["test", APPLIER]).exists()  # it started nothing
    stop_stack(second)
