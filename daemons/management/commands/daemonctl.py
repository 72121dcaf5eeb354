"""Operator commands: a status table, Start/Stop/Restart, and a log tail.

    manage.py daemonctl status
    manage.py daemonctl start|stop|restart <name> | --all
    manage.py daemonctl logs <name> [--level WARNING] [--tail 20] [--follow]
    manage.py daemonctl schedule
    manage.py daemonctl run-now <name>
    manage.py daemonctl pause <name> [--hard] | --all
    manage.py daemonctl resume <name> | --all

Start/Stop/Restart set the desired state exactly as the dashboard and the API do; the daemon's host
(`rundaemon <name>`) applies it within about a second.
"""

import getpass
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from daemons import pause, schedule, services
from daemons.models import LEVEL_ORDER, Daemon, DaemonLog, LogLevel
from orchestrator.dbcheck import require_database
from orchestrator.durations import human_duration

FOLLOW_POLL_SECONDS = 0.5
CONTROL = {
    "start": (services.start, services.start_all, "started"),
    "stop": (services.stop, services.stop_all, "stopped"),
    "restart": (services.restart, services.restart_all, "restarted"),
}


class Command(BaseCommand):
    help = "Show daemon status, start/stop/restart daemons, and tail their logs."
    # An operator tool: it must answer even while an unrelated check fails.
    requires_system_checks = []

    def add_arguments(self, parser):
        actions = parser.add_subparsers(
            dest="action",
            required=True,
            metavar="{status,start,stop,restart,logs,schedule,run-now,pause,resume}",
        )
        actions.add_parser("status", help="A table of every daemon's state and current status.")
        for verb in CONTROL:
            control = actions.add_parser(verb, help=f"{verb.capitalize()} one daemon, or the bulk set with --all.")
            control.add_argument("name", nargs="?", help="Daemon name.")
            control.add_argument(
                "--all",
                action="store_true",
                help="start: every stopped daemon; stop/restart: every running daemon.",
            )
        logs = actions.add_parser("logs", help="Print a daemon's latest log lines (oldest first).")
        logs.add_argument("name", help="Daemon name.")
        logs.add_argument("--level", type=str.upper, choices=LogLevel.values, help="This level and more severe.")
        logs.add_argument("--tail", type=int, default=20, help="How many lines to print first (default 20).")
        logs.add_argument("--follow", "-f", action="store_true", help="Keep printing new lines until Ctrl-C.")
        actions.add_parser("schedule", help="Every daemon's interval, last cycle, next run, pause and quiet hours.")
        run_now = actions.add_parser("run-now", help="Skip a running daemon's wait: its next cycle starts now.")
        run_now.add_argument("name", help="Daemon name.")
        paused = actions.add_parser("pause", help="Pause one daemon (it starts nothing new), or every one with --all.")
        paused.add_argument("name", nargs="?", help="Daemon name.")
        paused.add_argument("--all", action="store_true", help="Soft-pause every daemon.")
        paused.add_argument("--hard", action="store_true", help="Also stop its running job (generation only).")
        resumed = actions.add_parser("resume", help="Resume one paused daemon, or every one with --all.")
        resumed.add_argument("name", nargs="?", help="Daemon name.")
        resumed.add_argument("--all", action="store_true", help="Resume every paused daemon.")

    def handle(self, *args, action, **options):
        require_database()
        if action == "status":
            self.status()
        elif action == "logs":
            self.logs(_daemon(options["name"]), options["level"], options["tail"], options["follow"])
        elif action == "schedule":
            self.schedule()
        elif action == "run-now":
            self.run_now(options["name"])
        elif action in ("pause", "resume"):
            self.pause(action, options["name"], options["all"], options.get("hard", False))
        else:
            self.control(action, options["name"], options["all"])

    # --- status ---------------------------------------------------------------------------------

    def status(self):
        headers = ("NAME", "DESIRED", "ACTUAL", "AUTO-START", "STATUS", "UPDATED", "NEXT-CHECK", "HOST/PID")
        now = timezone.now()
        rows = [_status_row(daemon, now) for daemon in Daemon.objects.order_by("name")]
        widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
        for row in (headers, *rows):
            self.stdout.write(
                "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )

    # --- start / stop / restart ------------------------------------------------------------------

    def control(self, verb: str, name: str | None, everything: bool):
        one, bulk, past = CONTROL[verb]
        if everything == bool(name):
            raise CommandError(f"Give a daemon name or --all (not both): daemonctl {verb} <name> | --all")
        if name:
            daemon = one(_daemon(name))
            self.stdout.write(f"Daemon {daemon.name} {verb} requested (desired state: {daemon.desired_state}).")
            return
        names = bulk()
        if not names:
            self.stdout.write(services.NOTHING_TO_DO[verb])
            return
        self.stdout.write(f"Successfully {past} {len(names)} daemons: {', '.join(names)}")

    # --- schedule, run now, pause --------------------------------------------------------------------

    def schedule(self):
        headers = ("NAME", "INTERVAL", "LAST-CYCLE", "TOOK", "CYCLE-NOW", "NEXT-RUN", "PAUSED", "QUIET-HOURS")
        now = timezone.now()
        rows = [_schedule_row(daemon, now) for daemon in Daemon.objects.order_by("name")]
        self._table(headers, rows)

    def run_now(self, name: str):
        try:
            daemon = schedule.request_run_now(_daemon(name))
        except schedule.NotRunnable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Daemon {daemon.name} runs now (its host acts within about a second).")

    def pause(self, verb: str, name: str | None, everything: bool, hard: bool):
        if everything == bool(name):
            raise CommandError(f"Give a daemon name or --all (not both): daemonctl {verb} <name> | --all")
        if hard and (verb != "pause" or everything):
            raise CommandError("--hard pauses one daemon: daemonctl pause <name> --hard")
        by = _operator()
        try:
            if name:
                daemon = _daemon(name)
                if verb == "pause":
                    daemon = pause.pause(daemon, "hard" if hard else "soft", by=by)
                    self.stdout.write(f"Daemon {daemon.name} paused ({daemon.pause_mode}).")
                else:
                    was_paused = daemon.is_paused
                    pause.resume(daemon, by=by)
                    self.stdout.write(f"Daemon {daemon.name} {'resumed' if was_paused else 'was not paused'}.")
                return
            names = (pause.pause_all if verb == "pause" else pause.resume_all)(by=by)
        except pause.PauseError as exc:
            raise CommandError(str(exc)) from None
        if not names:
            self.stdout.write("Every daemon is already paused." if verb == "pause" else "No daemon is paused.")
            return
        self.stdout.write(f"Successfully {verb}d {len(names)} daemons: {', '.join(names)}")

    def _table(self, headers, rows):
        widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
        for row in (headers, *rows):
            self.stdout.write(
                "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )

    # --- logs --------------------------------------------------------------------------------------

    def logs(self, daemon: Daemon, level: str | None, tail: int, follow: bool):
        if tail < 0:
            raise CommandError("--tail must be 0 or more.")
        lines = DaemonLog.objects.filter(daemon=daemon)
        if level:
            lines = lines.filter(level__in=[name for name, rank in LEVEL_ORDER.items() if rank >= LEVEL_ORDER[level]])
        latest = list(lines.order_by("-id")[:tail]) if tail else []
        last_id = self._print_lines(reversed(latest))
        if not follow:
            return
        if last_id is None:
            last_id = lines.order_by("-id").values_list("id", flat=True).first() or 0
        try:
            while True:
                time.sleep(FOLLOW_POLL_SECONDS)
                # Ids only grow, so "newer than the last printed id" never repeats or skips a line.
                last_id = self._print_lines(lines.filter(id__gt=last_id).order_by("id")) or last_id
        except KeyboardInterrupt:
            pass

    def _print_lines(self, entries):
        last_id = None
        for entry in entries:
            stamp = timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            self.stdout.write(f"{stamp} {entry.level:<7} {entry.message}")
            last_id = entry.id
        self.stdout.flush()
        return last_id


def _daemon(name: str) -> Daemon:
    daemon = Daemon.objects.filter(name=name).first()
    if daemon is None:
        raise CommandError(services.unknown_daemon_message(name))
    return daemon


def _status_row(daemon: Daemon, now) -> tuple:
    status = daemon.current_status or "-"
    if len(status) > 60:
        status = status[:57] + "..."
    if services.is_stale(daemon, now):
        status = f"[stale] {status}"
    updated = _ago(daemon.status_updated_at, now)
    host = "/".join(str(part) for part in (daemon.lease_host, daemon.lease_pid) if part) or "-"
    auto = "yes" if daemon.auto_start else "no"
    return (daemon.name, daemon.desired_state, daemon.actual_state, auto, status, updated, _next(daemon, now), host)


def _next(daemon: Daemon, now) -> str:
    """When the daemon will say something next: "in 4 min (19:25)", "due 2 min ago", or "-"."""
    at = daemon.next_check_at
    if at is None:
        return "-"
    clock = timezone.localtime(at).strftime("%H:%M")
    seconds = (at - now).total_seconds()
    if seconds >= 0:
        return f"in {human_duration(seconds)} ({clock})"
    return f"due {human_duration(-seconds)} ago ({clock})"


def _operator() -> str:
    """Who a pause from the command line is by: the operator's login name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "daemonctl"


def _clock(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M") if moment else "-"


def _schedule_row(daemon: Daemon, now) -> tuple:
    plan = schedule.schedule_of(daemon, now)
    interval = human_duration(plan.interval_seconds) if plan.interval_seconds else "-"
    last = (
        f"{_clock(plan.last_cycle_started_at)}-{_clock(plan.last_cycle_ended_at)}" if plan.last_cycle_ended_at else "-"
    )
    took = human_duration(plan.last_cycle_seconds) if plan.last_cycle_seconds is not None else "-"
    current = f"since {_clock(plan.cycle_started_at)}" if plan.cycle_started_at else "-"
    if plan.next_run_at is None or daemon.desired_state != "running":
        next_run = "-"
    else:
        seconds = (plan.next_run_at - now).total_seconds()
        next_run = f"in {human_duration(seconds)} ({_clock(plan.next_run_at)})" if seconds >= 0 else "due"
    state = pause.state_of(daemon)
    paused = f"since {_clock(state.since)} by {state.by or '-'} ({state.mode})" if state else "no"
    quiet = "-"
    if plan.quiet_hours:
        quiet = f"{plan.quiet_hours} {plan.time_zone}"
        if plan.quiet_until:
            quiet += f", quiet until {_clock(plan.quiet_until)}"
    return (daemon.name, interval, last, took, current, next_run, paused, quiet)


def _ago(moment, now) -> str:
    if moment is None:
        return "-"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"
