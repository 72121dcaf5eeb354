"""Daemons: every daemon that should run has a live host (heartbeats), none is in error, none overdue."""

from django.utils import timezone

from daemons import services
from daemons.models import ActualState, Daemon, DesiredState, StatusLevel
from health.checks import Check, Result, error, ok, warning


def run() -> Result:
    now = timezone.now()
    wanted = list(Daemon.objects.filter(desired_state=DesiredState.RUNNING))
    errors, warnings = [], []
    for daemon in wanted:
        if daemon.actual_state == ActualState.ERROR:
            first = (daemon.last_error or daemon.current_status or "").strip().splitlines()
            errors.append(f"{daemon.name} crashed ({first[-1] if first else 'no message'}) and is restarting.")
        elif not services.host_alive(daemon, now):
            errors.append(f"{daemon.name} should run, but no host runs it (`manage.py rundaemon {daemon.name}`).")
        elif daemon.status_level == StatusLevel.ERROR:
            errors.append(f"{daemon.name}: {daemon.current_status}")
        elif services.is_stale(daemon, now):
            warnings.append(f"{daemon.name} is overdue: it said it would report by {_clock(daemon.status_next_at)}.")
    facts = {"running": [d.name for d in wanted]}
    if errors:
        return error(
            " ".join(errors + warnings),
            "Open the daemon's page for its log; a missing host is restarted by make run, or start its rundaemon.",
            **facts,
        )
    if warnings:
        return warning(" ".join(warnings), "Open the daemon's page: its log says what it is waiting for.", **facts)
    if not wanted:
        return ok("No daemon is set to run (start them on the Daemons page).", **facts)
    return ok(f"{len(wanted)} daemon{'s' if len(wanted) != 1 else ''} running, none in error or overdue.", **facts)


def _clock(value) -> str:
    return f"{timezone.localtime(value):%H:%M:%S}" if value else "?"


CHECK = Check("daemons", "Daemons", "Daemons set to run have a live host, are not in error and not overdue.", run)
