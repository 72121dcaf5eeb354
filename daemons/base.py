"""The base class of every daemon kind.

A daemon's `run()` is its loop: it looks for work, creates jobs, watches them and says what it is doing
with `update_status()`. It never does heavy work itself. The host (daemons/host.py) starts and stops the
loop, heartbeats, and restarts it with backoff when it raises.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async

from daemons import services
from daemons.models import Daemon, JobAction
from jobs import services as job_services
from jobs.models import ACTIVE_STATUSES, Job, JobStatus
from orchestrator.typed import Field, Schema

logger = logging.getLogger("daemons")

_JOB_OUTCOME_ACTION = {
    JobStatus.COMPLETED: JobAction.FINISHED,
    JobStatus.FAILED: JobAction.FAILED,
    JobStatus.CANCELLED: JobAction.CANCELLED,
}


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


class BaseDaemon:
    kind: str = ""
    title: str = ""
    description: str = ""
    config_schema: Schema = Schema(())
    default_auto_start: bool = False

    def __init__(self, daemon_id: int, name: str, config: dict):
        self.daemon_id = daemon_id
        self.name = name
        # A detached row handle: enough for foreign keys and the name, never saved whole.
        self._row = Daemon(pk=daemon_id, name=name)
        self.config = config
        self._stopping = False
        self._wake = asyncio.Event()

    # --- the loop -----------------------------------------------------------------------------

    async def run(self):
        """The daemon's loop. Return only when `self.running` turns false."""
        raise NotImplementedError

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

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; wake early on stop or configuration change. Returns `self.running`."""
        if self._stopping:
            return False
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            pass
        return self.running

    # --- reporting ----------------------------------------------------------------------------

    async def update_status(self, status_message: str, job_id=None, job_type=None):
        """Say what the daemon is doing now; saved on its row and pushed live to every open page.

        Passing no job clears the job fields. The caller's cost is one UPDATE plus a queue append;
        delivery to browsers happens on the publisher thread.
        """
        await sync_to_async(services.set_status)(
            self.daemon_id,
            str(status_message),
            str(job_id) if job_id is not None else None,
            str(job_type) if job_type is not None else None,
        )

    async def log(self, level: str, message: str):
        """Append a line to the daemon's log (shown live on its page)."""
        logger.log(logging.getLevelName(level.upper()), "[%s] %s", self.name, message)
        await sync_to_async(services.add_log)(self._row, level, message)

    # --- jobs ---------------------------------------------------------------------------------

    async def launch_job(self, job_type: str, parameters: dict | None = None, reason: str = "") -> Job:
        """Create a job (validated like any other) and record LAUNCHED in the daemon's history."""
        job = await sync_to_async(job_services.create_job)(job_type, parameters or {}, created_by=self.name)
        await self.record_job_action(job, JobAction.LAUNCHED, reason)
        await self.log("INFO", f"Launched {job_type} job {job.pk}" + (f": {reason}" if reason else ""))
        return job

    async def wait_for_job(self, job: Job, status_message: str, poll_seconds: float = 1.0) -> Job | None:
        """Watch a job until it ends, showing `status_message` with a link to it.

        Records FINISHED / FAILED / CANCELLED in the history (for jobs this daemon launched) and returns the
        finished job, or None if the daemon is stopping (the job keeps running; `active_jobs()` finds it
        again after a restart).
        """
        await self.update_status(status_message, job_id=job.pk, job_type=job.type)
        while self.running:
            job = await sync_to_async(Job.objects.get)(pk=job.pk)
            if job.is_finished:
                if job.created_by == self.name:
                    action = _JOB_OUTCOME_ACTION[job.status]
                    await self.record_job_action(job, action, f"Job ended with status {job.status}")
                return job
            await self.sleep(poll_seconds)
        return None

    async def cancel_job(self, job: Job, reason: str) -> Job:
        job = await sync_to_async(job_services.cancel_job)(job)
        await self.record_job_action(job, JobAction.CANCELLED, reason)
        return job

    async def active_jobs(self, job_type: str | None = None) -> list[Job]:
        """Jobs this daemon launched that have not finished (survives daemon and process restarts)."""

        def query():
            qs = Job.objects.filter(created_by=self.name, status__in=ACTIVE_STATUSES)
            if job_type:
                qs = qs.filter(type=job_type)
            return list(qs.order_by("created_at"))

        return await sync_to_async(query)()

    async def record_job_action(self, job: Job, action: str, reason: str = ""):
        await sync_to_async(services.add_job_history)(self._row, job, action, reason)
