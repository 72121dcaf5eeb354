"""AutoStashGenerationDaemon: run Stash's metadata generation when nothing else is happening.

As ../shared/spec/auto-stash-generation-daemon.md says: when no job of any type is pending or running
(and Stash's own queue is empty) and some scenes have `generated=false`, start a `stash_generate` job and
watch it; when a scan appears — our `stash_scan` job, or a scan someone started in Stash itself — cancel
the generation (the job sends stopJob, so Stash really stops) and record why. Generation picks up again in
a later cycle. `generated` is set by the job from what Stash reports, never by this daemon. After a
restart it adopts the generation it had started, unless Stash no longer knows that job or (Stash having
restarted too) its id now names another job: that generation is lost, failed with the reason, not watched.

Following Stash's queue: while a generation runs, Stash's job events (jobsSubscribe) end the wait as
soon as a scan is queued in Stash, and each (re)connect of the subscription makes it read the queue
again; while the subscription is down it reads Stash's queue every SCAN_POLL_SECONDS instead of every
`monitor_interval_seconds` (a scan started in Stash is to be seen within 2 s). A new job of ours (a
`stash_scan`) ends the wait too (the jobs.created wake-up). While only Stash's queue keeps it from
starting (a scan someone started there), a job leaving that queue ends the wait, not the interval.
"""

import time
from datetime import timedelta

from django.utils import timezone

from daemons.base import HEARTBEAT_INTERVAL, POLL_SECONDS, BaseDaemon, clock, job_interval_field
from daemons.models import JobAction, StatusLevel
from daemons.quiet_hours import QUIET_HOURS
from daemons.threads import in_thread
from jobs.models import Job, JobStatus
from jobs.queries import live_job_ids, live_job_types
from jobs.services import fail_lost_job
from orchestrator import wakeups
from orchestrator.typed import Field, Schema
from stash.connection.config import get_client
from stash.connection.follow import BUSY, busy_queue, changed_identity, is_scan
from stash.connection.subscription import ADD, OPEN, REMOVE, UPDATE, JobEvent, JobEvents
from stash.scenes.generation import scenes_need_generation, scenes_to_generate

# While our jobs keep it waiting: how often it asks whether they are over, the fallback of the job-end
# wake-up (also for a job whose worker died, which stops counting when its heartbeat goes stale).
IDLE_CHECK_SECONDS = 5.0
# While a generation runs and Stash's job events are unavailable: how often Stash's queue is asked for
# scans (a scan started in Stash is to be seen within 2 s).
SCAN_POLL_SECONDS = 1.0


def _stash_queue() -> list[dict]:
    return busy_queue(get_client())


def _no_live_jobs() -> bool:
    return not live_job_types()


def _lost_in_stash(job: Job) -> str | None:
    """Why the Stash job `job` follows is no longer the one it started, or None (also while it has not
    started one yet)."""
    if not job.external_id:
        return None
    return changed_identity(job.external_id, job.external_identity, get_client().find_job(job.external_id))


def _scans_in_progress() -> list[str]:
    """What scans are going on: our stash_scan jobs and scans in Stash's own queue."""
    ours = [f"stash_scan job {pk}" for pk in live_job_ids("stash_scan")]
    in_stash = [f"Stash job {job.get('id')} ({job.get('description')})" for job in _stash_queue() if is_scan(job)]
    return ours + in_stash


class AutoStashGenerationDaemon(BaseDaemon):
    kind = "auto_stash_generation"
    title = "Auto Stash Generation Daemon"
    description = "Runs Stash's metadata generation when the system is idle; stops it when a scan starts."
    config_schema = Schema(
        (
            HEARTBEAT_INTERVAL,
            QUIET_HOURS,
            job_interval_field(3600, "Seconds to wait between generation cycles."),
            Field(
                "monitor_interval_seconds",
                int,
                30,
                "While generation runs: seconds between checks for its end and for scans.",
                min=1,
                max=3600,
            ),
        )
    )

    listens_to = (wakeups.JOB_ENDED, wakeups.SCENES, wakeups.JOB_CREATED)
    # A hard pause stops the running generation (stopJob); Resume starts one for what is still missing.
    supports_hard_pause = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Whether this daemon cancelled the watched generation (for a scan).
        self.cancelled = False
        # Stash's job events while a generation is watched (None otherwise), and when progress was logged.
        self.stash_events: JobEvents | None = None
        self._progress_logged_at = float("-inf")

    async def run(self):
        try:
            await super().run()
        finally:
            self.stop_stash_events()

    def wanted(self, topic: str, key: str) -> bool:
        # A job created while a generation runs may be a scan of ours: look at once.
        if topic == wakeups.JOB_CREATED:
            return self.watching is not None and not self.cancelled
        return super().wanted(topic, key)

    async def start_stash_events(self):
        if self.stash_events is None:
            client = await in_thread(get_client)  # may read the Settings row
            self.stash_events = JobEvents(client, self.stash_event).start()
            # A moment for it to come up, so this step already knows whether its wait may be long.
            await in_thread(self.stash_events.live.wait, SCAN_POLL_SECONDS)

    def stop_stash_events(self):
        events, self.stash_events = self.stash_events, None
        if events is not None:
            events.close(wait=False)  # its thread ends on its own; the loop must not block on it

    def stash_event(self, event: JobEvent):
        """On the subscription's thread. While a generation runs, a scan queued in Stash ends the wait;
        while only Stash's queue keeps it waiting, a job leaving that queue does. A (re)connect always
        does: events were missed meanwhile, the next step reads the queue again."""
        job = event.job or {}
        if event.kind == OPEN:
            self.wake_from_thread()
        elif self.watching is not None:
            if not self.cancelled and event.kind in (ADD, UPDATE) and job.get("status") in BUSY and is_scan(job):
                self.wake_from_thread()
        elif event.kind == REMOVE:
            self.wake_from_thread()

    async def step(self) -> float:
        if self.watching is not None:
            return await self.monitor()
        # After a restart, watch the generation this daemon already started instead of starting another.
        adopted = await self.active_jobs("stash_generate")
        if adopted and not await self.lost(adopted[0]):
            return await self.start_monitoring(adopted[0])
        await self.update_status("Checking for running jobs")
        active = await in_thread(live_job_types)
        stash_busy = await in_thread(_stash_queue)
        await self.stash_answered()
        if active or stash_busy:
            return await self.wait_for_jobs(active, stash_busy)
        await self.update_status("Checking for scenes needing generation")
        count, scene_ids = await in_thread(scenes_to_generate)
        if not count:
            await self.log("DEBUG", "All scenes have generated attribute set to true")
            return await self.rest("All scenes generated, sleeping for {n} seconds")
        await self.log("INFO", f"Found {count} scenes with generated=false")
        await self.update_status(f"Starting metadata generation for {count} scenes")
        job = await self.launch_job(
            "stash_generate",
            {"scene_ids": scene_ids},
            reason=f"Running metadata generation for {count} scenes with generated=false",
        )
        return await self.start_monitoring(job)

    async def wait_for_jobs(self, active: list[str], stash_busy: list[dict]) -> float:
        """Wait until our jobs are over (the end of each wakes it), or the interval is up. A wait for
        Stash's own queue alone ends when a job leaves it (Stash's job events); without them it lasts
        the interval."""
        if active:
            self.stop_stash_events()
        else:
            await self.start_stash_events()
        seconds = self.config["job_interval_seconds"]
        what = active + [f"Stash: {job.get('description')}" for job in stash_busy]
        by = clock(timezone.now() + timedelta(seconds=seconds))
        await self.log("DEBUG", f"Found {len(what)} running/pending jobs: {what}")
        await self.log("INFO", f"Jobs are running, skipping generation check until they finish (at the latest {by})")
        await self.update_status(
            f"Jobs are running, waiting for them to finish (checking again by {by})",
            level=StatusLevel.WAITING,
            next_in=IDLE_CHECK_SECONDS if active else seconds,
        )
        if not active:
            return seconds
        return self.rest_until_news(seconds, wakeups.JOB_ENDED, ready=_no_live_jobs, poll=IDLE_CHECK_SECONDS)

    async def rest(self, message: str) -> float:
        """Rest the interval, or until a sync brings scenes to generate."""
        self.stop_stash_events()
        seconds = self.config["job_interval_seconds"]
        await self.update_status(message.format(n=seconds), level=StatusLevel.WAITING, next_in=seconds)
        return self.rest_until_news(seconds, wakeups.SCENES, ready=scenes_need_generation)

    async def lost(self, job: Job) -> bool:
        """Whether the generation to adopt is lost in Stash; a lost one is failed and its end recorded.
        One that ended meanwhile is not lost: watching it records how it ended."""
        reason = await in_thread(_lost_in_stash, job)
        if reason is None or not await in_thread(fail_lost_job, job, reason):
            return False
        await self.log("WARNING", f"Generation job {job.pk} is lost: {reason}")
        await self.record_job_action(job, JobAction.FAILED, reason)
        return True

    async def start_monitoring(self, job: Job) -> float:
        self.cancelled = False
        await self.watch(job, "Generating metadata")
        return await self.monitor()

    async def monitor(self) -> float:
        """Check the watched generation: its end, or (once) a scan that calls for cancelling it."""
        finished = await self.watched_end()
        if finished is not None:
            self.stop_stash_events()
            await self.generation_ended(finished)
            return await self.rest("Generation cycle complete, sleeping for {n} seconds")
        job = self.watching
        interval = self.config["monitor_interval_seconds"]
        if job.progress and time.monotonic() - self._progress_logged_at >= interval:
            self._progress_logged_at = time.monotonic()
            await self.log("DEBUG", f"Generation job progress: {job.progress:.0f}%")
        if self.cancelled:
            return POLL_SECONDS
        await self.start_stash_events()
        scans = await in_thread(_scans_in_progress)
        if not scans:
            return interval if self.stash_events.live.is_set() else min(interval, SCAN_POLL_SECONDS)
        self.stop_stash_events()
        await self.log("INFO", f"Detected {len(scans)} scan jobs, cancelling generation job {job.pk}")
        await self.update_status("Cancelling generation due to scan jobs", job_id=job.pk, job_type=job.type)
        await self.cancel_job(job, "Cancelled due to detected scan jobs: " + ", ".join(scans))
        self.cancelled = True
        return await self.monitor()  # a pending job is cancelled at once: record it without waiting

    async def stop_for_hard_pause(self, job: Job, reason: str):
        await self.log("INFO", f"Hard pause: stopping generation job {job.pk}; Resume starts what is still missing")
        self.cancelled = True  # ours: the history reads LAUNCHED → CANCELLED (the reason) → FINISHED
        await super().stop_for_hard_pause(job, reason)

    def outcome_action(self, job: Job) -> str:
        # LAUNCHED → (CANCELLED with our reason) → FINISHED: the history tells the whole story once.
        if job.status == JobStatus.CANCELLED and self.cancelled:
            return JobAction.FINISHED
        return super().outcome_action(job)

    async def generation_ended(self, job: Job):
        await self.log("INFO", f"Generation job {job.pk} completed with status: {job.status}")
        if job.status == JobStatus.COMPLETED:
            result = job.result or {}
            await self.log(
                "INFO",
                "Stash metadata generation completed successfully: "
                f"{result.get('marked_generated', 0)} scenes marked generated, "
                f"{result.get('scenes_still_missing', 0)} still missing artefacts",
            )
        elif job.status == JobStatus.CANCELLED and self.pause is not None and self.pause.hard:
            await self.log("INFO", "Generation stopped for the hard pause; Resume generates what is still missing")
        else:
            await self.log("WARNING", f"Stash metadata generation completed with status: {job.status}: {job.error}")
