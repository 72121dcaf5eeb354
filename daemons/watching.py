"""The jobs a daemon launches, watches and cancels, and the history rows of their outcomes (part of
BaseDaemon). A step never waits for a job: it watches one (`watch()`) and polls `watched_end()`."""

import logging
import time

from daemons import pause as holds
from daemons import services
from daemons.models import JobAction
from daemons.threads import db_call, in_thread
from jobs.models import ACTIVE_STATUSES, Job, JobStatus
from orchestrator import dbconn

logger = logging.getLogger("daemons")

# How often a loop looks for jobs of its predecessors that ended unrecorded (see `record_outcomes`).
OUTCOMES_EVERY_SECONDS = 30.0

_JOB_OUTCOME_ACTION = {
    JobStatus.COMPLETED: JobAction.FINISHED,
    JobStatus.FAILED: JobAction.FAILED,
    JobStatus.CANCELLED: JobAction.CANCELLED,
}


class JobWatching:
    """BaseDaemon's jobs. Uses `_row` and `_fence` (the lease token) from BaseDaemon, `watching`, and
    `_outcomes_at` / `_began` for `record_outcomes`; `log()` and `update_status()` are BaseDaemon's."""

    async def launch_job(self, job_type: str, parameters: dict | None = None, reason: str = "") -> Job:
        """Create a job (validated like any other) and record LAUNCHED in the daemon's history, together
        and only while the lease holds. Raises daemons.pause.Held while the daemon may start nothing new
        (paused, outside quiet hours)."""
        if holds.blocks_new_work(self):
            raise holds.Held()
        job = await db_call(services.launch_job, self._row, job_type, parameters or {}, reason, self._fence)
        await self.log("INFO", f"Launched {job_type} job {job.pk}" + (f": {reason}" if reason else ""))
        return job

    async def watch(self, job: Job, status_message: str):
        """Watch `job` from now on, showing `status_message` with a link to it."""
        self.watching = job
        await self.update_status(status_message, job_id=job.pk, job_type=job.type)

    async def watched_end(self) -> Job | None:
        """The watched job, reloaded, if it has ended (then it is no longer watched, and its outcome is in
        the history for jobs this daemon launched); None while it is pending or running (`self.watching`
        is then the reloaded job).

        A job still running when the daemon stops goes on; `active_jobs()` finds it after a restart."""
        job = await db_call(Job.objects.get, pk=self.watching.pk)
        if not job.is_finished:
            self.watching = job
            return None
        self.watching = None
        if job.created_by == self.name:
            await self.record_job_action(job, self.outcome_action(job), f"Job ended with status {job.status}")
        return job

    def outcome_action(self, job: Job) -> str:
        """The history action recording how a watched job ended."""
        return _JOB_OUTCOME_ACTION[job.status]

    async def cancel_job(self, job: Job, reason: str) -> Job:
        return await db_call(services.cancel_job, self._row, job, reason, self._fence)

    async def active_jobs(self, job_type: str | None = None) -> list[Job]:
        """Jobs this daemon launched that have not finished (survives daemon and process restarts)."""

        def query():
            qs = Job.objects.filter(created_by=self.name, status__in=ACTIVE_STATUSES)
            if job_type:
                qs = qs.filter(type=job_type)
            return list(qs.order_by("created_at"))

        return await db_call(query)

    async def record_job_action(self, job: Job, action: str, reason: str = ""):
        await db_call(services.add_job_history, self._row, job, action, reason, self._fence)

    async def record_outcomes(self):
        """Record how the jobs launched before this loop began (by a host before a takeover, or by this
        host's previous loop) ended, when they ended unwatched: their LAUNCHED row gets its outcome row.
        At the loop's start and every OUTCOMES_EVERY_SECONDS; the watched job is left to `watched_end`."""
        now = time.monotonic()
        if now - self._outcomes_at < OUTCOMES_EVERY_SECONDS:
            return
        self._outcomes_at = now
        watched = [self.watching.pk] if self.watching is not None else []
        try:
            for job in await in_thread(services.unrecorded_outcomes, self.daemon_id, self._began, watched):
                await self.record_job_action(job, self.outcome_action(job), f"Job ended with status {job.status}")
        except dbconn.CONNECTION_ERRORS as error:
            logger.warning("[%s] Database connection lost while recording job outcomes (%s)", self.name, error)

    async def stop_for_hard_pause(self, job: Job, reason: str):
        """A hard pause stops the watched job (the kind may say more); the step then follows it to its
        end as usual."""
        await self.cancel_job(job, reason)
