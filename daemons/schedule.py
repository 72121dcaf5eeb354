"""A daemon's schedule: its interval, its cycles, its next run, and "Run now".

A **cycle** is one look for work and what follows from it: it begins with a full step taken while the
daemon watches no job (not the quiet check of a rest, not a poll of a watched job) and ends at the first
step after which it watches nothing (it rests again). So a generation cycle runs from "Checking for
running jobs" through the generate job it launched to "Generation cycle complete". BaseDaemon.run_step
calls `Cycle.begin()` / `Cycle.end()`; the times are kept on the row (`cycle_started_at` while one is
under way, `last_cycle_started_at` / `last_cycle_ended_at` for the last finished one).

The **next run** is the deadline of the daemon's current wait (`status_next_at`): the end of its rest, the
start of its quiet hours' window. None while paused (it waits for Resume) or stopped.

**Run now** (`request_run_now`) bumps `run_now_requested`; the host sees it at its next control poll
(DAEMON_CONTROL_POLL_SECONDS, 0.5 s) and ends the daemon's rest at once (BaseDaemon.run_now). A
wake-up (topic `daemons.run_now`) is announced too, so with Redis up the host hears it sooner still.
"""

from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from daemons import quiet_hours, services
from daemons.models import Daemon
from orchestrator import wakeups
from orchestrator.durations import human_duration

# The configuration key of a kind's pause between cycles, unless the kind names another (`interval_key`).
INTERVAL_KEY = "job_interval_seconds"


def _iso(value):
    return value.isoformat() if value else None


def _clock(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%H:%M") if moment else ""


@dataclass(frozen=True)
class Schedule:
    interval_seconds: float | None
    cycle_started_at: datetime | None
    last_cycle_started_at: datetime | None
    last_cycle_ended_at: datetime | None
    next_run_at: datetime | None
    quiet_hours: str
    quiet_until: datetime | None  # outside the window now: when it opens

    @property
    def interval_words(self) -> str:
        return human_duration(self.interval_seconds) if self.interval_seconds else ""

    @property
    def last_cycle_seconds(self) -> float | None:
        if self.last_cycle_started_at and self.last_cycle_ended_at:
            return max(0.0, (self.last_cycle_ended_at - self.last_cycle_started_at).total_seconds())
        return None

    @property
    def last_cycle_words(self) -> str:
        seconds = self.last_cycle_seconds
        return human_duration(seconds) if seconds is not None else ""

    # Plain strings for the status fragment (rendered on every push: no date filters there).
    @property
    def cycle_started_iso(self) -> str:
        return _iso(self.cycle_started_at) or ""

    @property
    def cycle_started_clock(self) -> str:
        return _clock(self.cycle_started_at)

    @property
    def last_started_iso(self) -> str:
        return _iso(self.last_cycle_started_at) or ""

    @property
    def last_ended_iso(self) -> str:
        return _iso(self.last_cycle_ended_at) or ""

    @property
    def last_started_clock(self) -> str:
        return _clock(self.last_cycle_started_at)

    @property
    def last_ended_clock(self) -> str:
        return _clock(self.last_cycle_ended_at)

    @property
    def next_run_iso(self) -> str:
        return _iso(self.next_run_at) or ""

    @property
    def next_run_clock(self) -> str:
        return _clock(self.next_run_at)

    @property
    def next_run_words(self) -> str:
        return human_duration((self.next_run_at - timezone.now()).total_seconds()) if self.next_run_at else ""

    @property
    def quiet_until_clock(self) -> str:
        return _clock(self.quiet_until)

    @property
    def time_zone(self) -> str:
        return settings.TIME_ZONE

    def to_state(self) -> dict:
        """What the API and live pages get (times as ISO 8601 strings)."""
        return {
            "interval_seconds": self.interval_seconds,
            "cycle_started_at": _iso(self.cycle_started_at),
            "last_cycle_started_at": _iso(self.last_cycle_started_at),
            "last_cycle_ended_at": _iso(self.last_cycle_ended_at),
            "last_cycle_seconds": self.last_cycle_seconds,
            "next_run_at": _iso(self.next_run_at),
            "quiet_hours": self.quiet_hours,
            "quiet_until": _iso(self.quiet_until),
            "time_zone": self.time_zone,
        }


def interval_of(daemon: Daemon, config: dict) -> float | None:
    from daemons.registry import get_kind

    kind = get_kind(daemon.kind)
    value = config.get(getattr(kind, "interval_key", INTERVAL_KEY) if kind else INTERVAL_KEY)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def schedule_of(daemon: Daemon, now: datetime | None = None) -> Schedule:
    now = now or timezone.now()
    config = services.effective_config(daemon) if services.schema_for(daemon) else {}
    window = quiet_hours.window_of(config)
    quiet_until = window.opens_at(now) if window and not window.is_open(now) else None
    return Schedule(
        interval_seconds=interval_of(daemon, config),
        cycle_started_at=daemon.cycle_started_at,
        last_cycle_started_at=daemon.last_cycle_started_at,
        last_cycle_ended_at=daemon.last_cycle_ended_at,
        next_run_at=None if daemon.is_paused else daemon.next_check_at,
        quiet_hours=str(window) if window else "",
        quiet_until=quiet_until,
    )


def attach(daemons: list[Daemon]) -> list[Daemon]:
    """Set `schedule` on each daemon, for the templates (daemons/_status.html) to read."""
    now = timezone.now()
    for daemon in daemons:
        daemon.schedule = schedule_of(daemon, now)
    return daemons


def state(daemon: Daemon) -> dict:
    """`Daemon.to_state()` with the schedule: what the API answers and live pages receive."""
    attached = getattr(daemon, "schedule", None)
    return {**daemon.to_state(), "schedule": (attached or schedule_of(daemon)).to_state()}


# --- Run now ---------------------------------------------------------------------------------------


class NotRunnable(Exception):
    """Run now was asked of a daemon that cannot act on it (stopped, or paused); nothing was changed."""


def request_run_now(daemon: Daemon) -> Daemon:
    """Wake the daemon at once, skipping the rest of its wait. Raises NotRunnable for a stopped or paused
    daemon (a paused one resumes with Resume; Run now does not override a pause)."""
    if daemon.desired_state != "running":
        raise NotRunnable(f"{daemon.name} is stopped: start it (Run now only skips a running daemon's wait).")
    if daemon.is_paused:
        raise NotRunnable(f"{daemon.name} is paused: resume it first.")
    services.save_fields(daemon.pk, run_now_requested=F("run_now_requested") + 1)
    wakeups.announce(wakeups.DAEMON_RUN_NOW, daemon.name)
    daemon.refresh_from_db()
    return daemon


# --- cycles (recorded by BaseDaemon.run_step) -------------------------------------------------------


class Cycle:
    """The cycle under way in one daemon loop. Its times ride on the daemon's own writes (the next status,
    the deadline) instead of writes of their own, so a daemon that steps every few milliseconds pushes no
    more than before; `flush()` writes what no status carried."""

    def __init__(self, daemon_id: int, lease: str | None = None):
        self.daemon_id = daemon_id
        self.lease = lease  # the loop's fencing token: its writes hold only while the lease does
        self.started: datetime | None = None
        self._unsaved: dict = {}

    def begin(self):
        if self.started is None:
            self.started = timezone.now()
            self._unsaved = {"cycle_started_at": self.started}

    def end(self):
        if self.started is not None:
            started, self.started = self.started, None
            self._unsaved = {
                "cycle_started_at": None,
                "last_cycle_started_at": started,
                "last_cycle_ended_at": timezone.now(),
            }

    def take(self) -> dict:
        """The fields not written yet, for the write about to happen (then they count as written)."""
        unsaved, self._unsaved = self._unsaved, {}
        return unsaved

    async def flush(self):
        if self._unsaved:
            await sync_to_async(services.update_row)(self.daemon_id, self.lease, **self.take())
