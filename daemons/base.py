"""The base class of every daemon kind.

A kind implements one step, `async def step(self) -> float`: look for work, launch or watch a job, say
what it is doing with `update_status()`, and return how many seconds to wait before the next step. A
step never sleeps and never waits for a job to end: a kind that watches a job keeps it in
`self.watching` (see `watch()`) and returns a short poll interval until `watched_end()` hands the ended
job back, then handles the outcome in that step. It never does heavy work itself.

The kind's tools are split by concern: the waits between steps and the wake-ups that end them
(daemons/waits.py), the jobs it launches and watches (daemons/watching.py), and the threads its
blocking calls run on (daemons/threads.py: `in_thread`, `db_call`).

`run()` owns the loop: the start log line, the steps, the shared backoff while Stash fails (a StashError
raised by a step), and the waits between steps, which end early on a stop request, a new configuration
or a wake-up (orchestrator/wakeups.py): the end of the watched job, or the news a rest waits for
(`rest_until_news()`: new plans for the applier, new scenes for generation and analysis). The host
(daemons/host.py) starts and stops `run()`, heartbeats, and restarts it with backoff when it raises.

Faults: every query runs through orchestrator.dbconn, so a lost database connection costs one step
(abandoned like a Stash failure, retried after DB_RETRY_SECONDS) and the next query reconnects. With a
`lease` (daemons/lease.py), status writes, launches, cancels, history rows and log lines are fenced by its
token, and no step starts while the lease is not known to be fresh.
"""

import asyncio
import logging
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from daemons import pause as holds
from daemons import services
from daemons.lease import Lease
from daemons.models import Daemon, StatusLevel
from daemons.schedule import Cycle
from daemons.threads import db_call
from daemons.waits import Rest, Waits
from daemons.watching import JobWatching
from jobs.models import Job
from orchestrator import dbconn, notify, wakeups
from orchestrator.backoff import Backoff
from orchestrator.paths import daemon_path
from orchestrator.typed import Field, Schema
from stash.connection.errors import StashError

logger = logging.getLogger("daemons")

# How often a step comes back to a job it watches, unless the kind says otherwise.
POLL_SECONDS = 1.0
# While Stash fails, the retries of a kind without a `job_interval_seconds` stop growing here.
STASH_RETRY_CEILING_SECONDS = 300.0
# A step that says nothing (a poll of a watched job) extends the deadline on record by at least this much
# once it runs out, so a poll every second costs a deadline write every PROMISE_FLOOR_SECONDS, not every poll.
PROMISE_FLOOR_SECONDS = 10.0
# A deadline within this of the one on record is the same promise (the step's own run time, rounding).
PROMISE_TOLERANCE = timedelta(seconds=1)
# After a lost database connection the step is retried this soon (the next query reconnects).
DB_RETRY_SECONDS = 1.0
# How often a loop looks again whether its lease is fresh, while it is not (the host renews or stops it).
LEASE_WAIT_SECONDS = 0.05


# The StashHog configuration key every production daemon keeps. The host reads it (daemons/host.py): it
# can only make heartbeats more frequent, never let the lease lapse.
HEARTBEAT_INTERVAL = Field(
    "heartbeat_interval",
    int,
    30,
    "Longest gap between heartbeats, in seconds (the host beats more often when its lease needs it).",
    min=1,
    max=3600,
)


def job_interval_field(default: int, description: str, max: int | None = 604_800) -> Field:
    """The StashHog key every production daemon keeps for its pause between cycles (and the ceiling of its
    retries while Stash fails); defaults differ per kind."""
    return Field("job_interval_seconds", int, default, description, min=1, max=max)


def clock(moment: datetime) -> str:
    """HH:MM in the server's TIME_ZONE, as statuses name a time ("checking again by 19:25")."""
    return timezone.localtime(moment).strftime("%H:%M")


class BaseDaemon(Waits, JobWatching):
    kind: str = ""
    title: str = ""
    # How the start log line names the kind, when not by its title.
    log_title: str = ""
    description: str = ""
    config_schema: Schema = Schema(())
    default_auto_start: bool = False
    # The wake-up topics this kind's waits may end on, listened to from the loop's start: the end of a
    # watched job, and whatever its rests wait for.
    listens_to: tuple[str, ...] = (wakeups.JOB_ENDED,)
    # The configuration key of its pause between cycles, shown as the schedule's interval.
    interval_key: str = "job_interval_seconds"
    # Whether a hard pause may stop the job it runs (daemons/pause.py): generation's.
    supports_hard_pause: bool = False

    def __init__(self, daemon_id: int, name: str, config: dict, lease: Lease | None = None):
        self.daemon_id = daemon_id
        self.name = name
        # The host's lease (None: unfenced, for single steps run by tests).
        self.lease = lease
        self._fence = lease.token if lease is not None else None
        # A detached row handle: enough for foreign keys and the name, never saved whole.
        self._row = Daemon(pk=daemon_id, name=name)
        self.config = config
        self.watching: Job | None = None
        # Stash failures in a row: retries after 10 s, 20 s, 40 s … never longer than the kind's interval.
        self.stash_failures = Backoff(first=settings.STASH_RETRY_FIRST_SECONDS)
        self._stopping = False
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop of the steps (wake_from_thread)
        # The rest under way, if it may end early; the wake-ups heard since the current step began.
        self.resting: Rest | None = None
        self._news: set[tuple[str, str]] = set()
        # The deadline on record (status_next_at), and whether the step under way wrote a status.
        self._next_at = None
        self._spoke = False
        # When this loop began, and when it last looked for unrecorded outcomes (see `record_outcomes`).
        self._began = timezone.now()
        self._outcomes_at = float("-inf")
        # Schedule and pause (daemons/schedule.py, daemons/pause.py): the cycle under way, a Run now
        # asked for, the pause the host handed over, and what the held steps did about it.
        self.cycle = Cycle(daemon_id, self._fence)
        self.pause: holds.PauseState | None = None
        self._run_now = False
        self._held = False
        self.held_message: str | None = None
        self.pause_stopped_job = False
        self.pause_swept = False
        self._last_status: tuple | None = None

    # --- the loop -----------------------------------------------------------------------------

    async def step(self) -> float:
        """One unit of the kind's work; returns the seconds to wait before the next step."""
        raise NotImplementedError

    async def run(self):
        """The daemon's loop: steps until `self.running` turns false. Raises what a step raises (but
        StashError, which is retried with backoff)."""
        await self.log("INFO", f"{self.log_title or self.title} started with config: {self.config}")
        # Listening before the first step's checks: anything announced from then on reaches a wait.
        async with wakeups.listen((*self.listens_to, wakeups.DAEMON_RUN_NOW), self.heard):
            while self.running:
                if not await self._lease_fresh():
                    break
                await self.record_outcomes()
                await self.sleep(await self.run_step())

    async def _lease_fresh(self) -> bool:
        """Wait, taking no step, until the lease is known to be fresh; False if asked to stop meanwhile.
        After a pause longer than the lease (a frozen process) the host's next control step either renews
        the lease or stops this loop: until then the loop does nothing."""
        while self.running and self.lease is not None and not self.lease.fresh():
            await asyncio.sleep(LEASE_WAIT_SECONDS)
        return self.running

    async def run_step(self) -> float:
        """One step, with the shared handling of Stash failures; returns the seconds to wait, after
        recording when the daemon will say something next (see `_promise`). While a rest lasts
        (`rest_until_news`), the step only asks the rest's quiet question."""
        # Before the step's checks: a stop, a new configuration or a wake-up from now on ends the wait
        # that follows this step (sleep() finds the event set, or the news, and returns at once).
        self._wake.clear()
        self._loop = asyncio.get_running_loop()
        self._spoke = False
        # Paused, or outside quiet hours: the step only says so (news is kept for after it).
        held = await holds.hold(self)
        if held is not None:
            self._held = True
            return held
        if self._held:
            await self._resumed()
        if self._run_now:
            self._run_now = False
            self.resting = None  # Run now: the rest is over, a full cycle starts
        news, self._news = self._news, set()
        try:
            wait = await self._rest_left(news) if self.resting is not None else None
            if wait is None:
                if self.watching is None:
                    self.cycle.begin()
                wait = await self.step()
        except StashError as error:
            wait = await self._stash_failed(error)
        except dbconn.CONNECTION_ERRORS as error:
            return self._database_failed(error)
        except holds.Held:
            self.cycle.end()
            return await self.run_step()  # says why it holds, and waits for that
        if self.watching is None:
            self.cycle.end()
            if holds.blocks_new_work(self):
                # Paused (or quiet) while the step ran, or it just saw its last job end: it says so
                # now rather than after the wait it asked for.
                return await self.run_step()
        await self._promise(wait)
        await self.cycle.flush()  # cycle times no status carried (a step that said nothing)
        return wait

    def _database_failed(self, error: Exception) -> float:
        # The database is where statuses and logs go, so this is said on the process's log only. The step
        # is abandoned with the job it watched, as after a Stash failure; the next query reconnects.
        self.watching = None
        logger.warning("[%s] Database connection lost (%s); retrying in %g s", self.name, error, DB_RETRY_SECONDS)
        return DB_RETRY_SECONDS

    async def _resumed(self):
        """The first step after a pause or quiet hours: a rest the pause interrupted goes on with its
        status; a job a hard pause stopped starts again at once."""
        self._held = False
        self.held_message = None
        if self.pause_stopped_job:
            self.pause_stopped_job = False
            self.resting = None
        elif self.resting is not None and self._last_status is not None:
            left = (self.resting.until - timezone.now()).total_seconds()
            if left > 0:
                message, job_id, job_type, level, link = self._last_status
                await self.update_status(message, job_id, job_type, level=level, link=link, next_in=left)

    def forget_deadline(self):
        """The deadline on record is gone (a paused status has none): the next step records its own."""
        self._next_at = None

    def apply_pause(self, state: "holds.PauseState | None"):
        """Called by the host when the row's pause changed; wakes a sleeping loop."""
        if state is None or self.pause is None or state.mode != self.pause.mode:
            self.pause_swept = False  # a new hard pause looks again for jobs to stop
        self.pause = state
        self.held_message = None
        self._wake.set()

    async def _promise(self, wait: float):
        """Record the deadline now + `wait` on the row, unless the one on record already says it: a status
        written with `next_in` carried it, or a silent step's record still covers its wait."""
        now = timezone.now()
        due = now + timedelta(seconds=wait)
        if self._next_at is not None:
            if self._spoke and abs(due - self._next_at) < PROMISE_TOLERANCE:
                return
            if not self._spoke and due <= self._next_at:
                return
        self._next_at = due if self._spoke else now + timedelta(seconds=max(wait, PROMISE_FLOOR_SECONDS))
        await db_call(services.set_next_at, self.daemon_id, self._next_at, self._fence, **self.cycle.take())

    async def _stash_failed(self, error: StashError) -> float:
        # The step is abandoned with the job it watched: every kind finds its job again (its own active
        # jobs, or the live job of a type), as after a restart, and says again what it watches.
        self.watching = None
        ceiling = self.config.get("job_interval_seconds", STASH_RETRY_CEILING_SECONDS)
        delay = self.stash_failures.next_delay(ceiling)
        await self.log("ERROR", f"Stash error: {error}; retrying in {delay:.0f} s")
        await self.update_status(
            f"Stash is unreachable or failing, retrying in {delay:.0f} seconds: {error}",
            level=StatusLevel.ERROR,
            next_in=delay,
        )
        return delay

    async def stash_answered(self):
        """Call after a Stash call succeeded: says so once when Stash had been failing."""
        if self.stash_failures.reset():
            await self.log("INFO", "Stash answers again")

    @property
    def running(self) -> bool:
        return not self._stopping

    def request_stop(self):
        self._stopping = True
        self._wake.set()

    def apply_config(self, config: dict):
        """Called by the host when a saved configuration arrives; wakes a sleeping loop."""
        self.config = config
        self._wake.set()

    # --- reporting ----------------------------------------------------------------------------

    async def update_status(
        self,
        status_message: str,
        job_id=None,
        job_type=None,
        *,
        level: str = StatusLevel.OK,
        link: tuple[str, str] | None = None,
        next_in: float | None = None,
    ):
        """Say what the daemon is doing now; saved on its row and pushed live to every open page.

        `level` colours the status (StatusLevel); `link` is a page it points to, (url, label). Passing no
        job (or link) clears it. `next_in`: the seconds until the daemon says something next, when this
        status announces the wait the step returns; the deadline then travels in the same write (otherwise
        `run_step` records it after the step). The caller's cost is one UPDATE plus a queue append;
        delivery to browsers happens on the publisher thread.
        """
        self._spoke = True
        self._last_status = (str(status_message), job_id, job_type, level, link)
        entered_error = level == StatusLevel.ERROR and getattr(self, "_last_level", None) != StatusLevel.ERROR
        self._last_level = level
        next_at = None
        if next_in is not None:
            next_at = self._next_at = timezone.now() + timedelta(seconds=next_in)
            if self.watching is None:
                self.cycle.end()  # announcing its wait with nothing to watch: the cycle is over
        await db_call(
            services.set_status,
            self.daemon_id,
            str(status_message),
            str(job_id) if job_id is not None else None,
            str(job_type) if job_type is not None else None,
            level,
            link,
            next_at,
            self._fence,
            self.cycle.take(),
        )
        if entered_error:  # once per fall into error, not per status that repeats it
            await sync_to_async(notify.event)(
                notify.DAEMON_ERROR,
                self.name,
                f"Daemon {self.name} is in error",
                str(status_message),
                link=link[0] if link else daemon_path(self.name),
                level="failure",
            )

    async def log(self, level: str, message: str):
        """Append a line to the daemon's log (shown live on its page)."""
        logger.log(logging.getLevelName(level.upper()), "[%s] %s", self.name, message)
        await db_call(services.add_log, self._row, level, message, self._fence)
