"""Pausing daemons, and what holds a daemon's loop: a pause, or its quiet hours.

**Soft pause** (Pause, Pause all): the daemon follows the job it watches to its end and starts nothing
new; its status says "Paused since 19:25 (by admin)". Resume continues where it was: a rest goes on
for what is left of it (with its status again), otherwise the next cycle starts.
**Hard pause** (kinds with `supports_hard_pause`, i.e. generation): the job it watches, or after a
restart the jobs it launched that are still active, are cancelled as well (a `stash_generate` job
sends Stash's stopJob and ends CANCELLED); on Resume the next cycle starts at once, and Stash generates
what is still missing (it skips what exists unless told to overwrite, which the daemon never asks).
**Quiet hours** (the `quiet_hours` setting, daemons/quiet_hours.py): outside the window the daemon
starts nothing new and says "Quiet hours until 01:00", with the window's start as its deadline.

The pause lives on the Daemon row (`paused_at`, `paused_by`, `pause_mode`), so it survives restarts of
the host and of the whole stack; the host hands it to the loop at each control poll
(`BaseDaemon.apply_pause`). A paused daemon has no deadline and is never stale for being quiet.
"""

from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from daemons import quiet_hours, services, timeline
from daemons.models import Daemon, PauseMode, StatusLevel

# A paused loop sleeps this long between looks; Resume, a new pause or configuration wake it at once.
PAUSED_WAIT_SECONDS = 3600.0


class PauseError(Exception):
    """A pause request that cannot be honoured (unknown daemon, unsupported mode); nothing was changed.
    `errors` maps a request field to its messages, as the API answers them."""

    def __init__(self, errors: dict):
        super().__init__(" ".join(message for messages in errors.values() for message in messages))
        self.errors = errors


class Held(Exception):
    """Raised by `launch_job` while the daemon may start nothing new (paused, or outside quiet hours)."""


@dataclass(frozen=True)
class PauseState:
    since: datetime
    by: str
    mode: str

    @property
    def hard(self) -> bool:
        return self.mode == PauseMode.HARD

    @property
    def message(self) -> str:
        local = timezone.localtime(self.since)
        when = local.strftime("%H:%M")
        if local.date() != timezone.localtime().date():
            when = local.strftime("%Y-%m-%d %H:%M")
        by = f" (by {self.by})" if self.by else ""
        hard = "; its running job was stopped and starts again on Resume" if self.hard else ""
        return f"Paused since {when}{by}{hard}"


def state_of(daemon: Daemon) -> PauseState | None:
    if daemon.paused_at is None:
        return None
    return PauseState(daemon.paused_at, daemon.paused_by, daemon.pause_mode or PauseMode.SOFT)


def hard_pause_kinds() -> list[str]:
    from daemons.registry import all_kinds

    return sorted(name for name, cls in all_kinds().items() if getattr(cls, "supports_hard_pause", False))


# --- requests (pages, API, daemonctl) ---------------------------------------------------------------


def _check_mode(daemon: Daemon, mode: str):
    if mode not in PauseMode.values:
        raise PauseError({"mode": [f"Unknown pause mode {mode!r}: give one of {', '.join(PauseMode.values)}."]})
    if mode == PauseMode.HARD and not daemon.supports_hard_pause:
        kinds = ", ".join(hard_pause_kinds()) or "none"
        raise PauseError(
            {"mode": [f"{daemon.name} has no hard pause (it stops a running job; daemons that have it: {kinds})."]}
        )


def pause(daemon: Daemon, mode: str = PauseMode.SOFT, by: str = "") -> Daemon:
    """Pause one daemon (again: a new mode or who; `since` stays). Raises PauseError, changing nothing."""
    _check_mode(daemon, mode)
    since = daemon.paused_at or timezone.now()
    services.save_fields(daemon.pk, paused_at=since, paused_by=by[:150], pause_mode=mode)
    who = f" by {by}" if by else ""
    services.add_log(daemon, "INFO", f"Paused ({mode}){who}")
    daemon.refresh_from_db()
    return daemon


def resume(daemon: Daemon, by: str = "") -> Daemon:
    if daemon.paused_at is not None:
        services.save_fields(daemon.pk, paused_at=None, paused_by="", pause_mode="")
        services.add_log(daemon, "INFO", "Resumed" + (f" by {by}" if by else ""))
        daemon.refresh_from_db()
    return daemon


def _targets(names: list[str] | None) -> list[Daemon]:
    daemons = list(Daemon.objects.order_by("name"))
    if not names:
        return daemons
    known = {d.name: d for d in daemons}
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise PauseError({"daemons": [f"Unknown daemon {listed}. Known daemons: {', '.join(known) or '(none)'}"]})
    return [known[name] for name in dict.fromkeys(names)]


def pause_all(by: str = "", names: list[str] | None = None) -> list[str]:
    """Soft-pause every daemon not paused yet (or those `names`, all known, else PauseError and nothing
    changes); returns the names paused. Stopped daemons are paused too: they start paused."""
    with transaction.atomic():
        return [pause(d, PauseMode.SOFT, by).name for d in _targets(names) if d.paused_at is None]


def resume_all(by: str = "", names: list[str] | None = None) -> list[str]:
    with transaction.atomic():
        return [resume(d, by).name for d in _targets(names) if d.paused_at is not None]


# --- the loop (BaseDaemon.run_step) ------------------------------------------------------------------


def quiet_until(daemon, now: datetime | None = None) -> datetime | None:
    """When the daemon's quiet-hours window opens, if it is closed now; None when it may work."""
    window = quiet_hours.window_of(daemon.config)
    now = now or timezone.now()
    if window is None or window.is_open(now):
        return None
    return window.opens_at(now)


def blocks_new_work(daemon) -> bool:
    return daemon.pause is not None or quiet_until(daemon) is not None


async def hold(daemon) -> float | None:
    """The wait of a held step, having said why, or None when the step goes on as usual (also while a
    paused daemon still follows a job to its end)."""
    pause = daemon.pause
    if pause is not None:
        if daemon.watching is not None:
            if pause.hard and not daemon.pause_stopped_job:
                daemon.pause_stopped_job = True
                await daemon.stop_for_hard_pause(daemon.watching, f"Hard pause by {pause.by or 'an operator'}")
            return None
        if pause.hard and not daemon.pause_swept:
            # After a restart the loop watches nothing yet: what it launched may still run.
            daemon.pause_swept = True
            for job in await daemon.active_jobs():
                daemon.pause_stopped_job = True
                await daemon.cancel_job(job, f"Hard pause by {pause.by or 'an operator'}")
        message = pause.message
        if daemon.held_message != message:
            daemon.held_message = message
            daemon.forget_deadline()
            await sync_to_async(_write_paused_status)(daemon.daemon_id, message, daemon.cycle.take(), daemon._fence)
        await daemon.cycle.flush()
        return PAUSED_WAIT_SECONDS
    opens = quiet_until(daemon)
    if opens is not None and daemon.watching is None:
        # The window's start replaces the rest: once it opens, a cycle starts at once.
        daemon.resting = None
        daemon.held_message = None
        seconds = max(1.0, (opens - timezone.now()).total_seconds())
        clock = timezone.localtime(opens).strftime("%H:%M")
        await daemon.update_status(f"Quiet hours until {clock}", level=StatusLevel.WAITING, next_in=seconds)
        return seconds
    return None


def _write_paused_status(daemon_id: int, message: str, cycle: dict, lease: str | None = None):
    """The paused status, without a deadline: the daemon waits for Resume (it is not stale). `cycle`: the
    times of the cycle that just ended, if no status carried them yet. Written only while `lease` holds,
    and kept on the timeline."""
    now = timezone.now()
    services.update_row(
        daemon_id,
        lease,
        **{
            **services.STATUS_CLEARED,
            **cycle,
            "current_status": message[:500],
            "status_updated_at": now,
            "status_level": StatusLevel.WAITING,
        },
    )
    timeline.record(daemon_id, now, message, StatusLevel.WAITING)
