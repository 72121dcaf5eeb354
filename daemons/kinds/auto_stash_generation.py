"""AutoStashGenerationDaemon: run Stash's metadata generation when nothing else is happening.

As ../shared/spec/auto-stash-generation-daemon.md says: when no job of any type is pending or running
(and Stash's own queue is empty) and some scenes have `generated=false`, start a `stash_generate` job and
watch it; when a scan appears — our `stash_scan` job, or a scan someone started in Stash itself — cancel
the generation (the job sends stopJob, so Stash really stops) and record why. Generation picks up again in
a later cycle. `generated` is set by the job from what Stash reports, never by this daemon.
"""

from daemons.base import HEARTBEAT_INTERVAL, BaseDaemon
from daemons.kinds.stash_common import StashOutage, in_thread, report_stash_error, stash_answered
from daemons.models import JobAction
from jobs.models import Job
from orchestrator.typed import Field, Schema
from stash.connection.errors import StashError

# Up to this many scenes are sent to Stash by id; beyond it Stash walks the library (it skips what exists).
MAX_SCENE_IDS = 1000


def _idle_check() -> list[str]:
    """Types of the live jobs (empty when the system is idle)."""
    from jobs.queries import live_active_jobs

    return sorted(live_active_jobs().values_list("type", flat=True))


def _stash_queue() -> list[dict]:
    from stash.connection.config import get_client

    return [job for job in get_client().job_queue() if job.get("status") in ("READY", "RUNNING", "STOPPING")]


def _ungenerated() -> tuple[int, list[int]]:
    from stash.models import Scene

    ids = list(Scene.objects.filter(generated=False).order_by("id").values_list("id", flat=True)[: MAX_SCENE_IDS + 1])
    if len(ids) <= MAX_SCENE_IDS:
        return len(ids), ids
    return Scene.objects.filter(generated=False).count(), []


def _scans_in_progress() -> list[str]:
    """What scans are going on: our stash_scan jobs and scans in Stash's own queue."""
    from jobs.queries import live_active_jobs

    ours = [f"stash_scan job {pk}" for pk in live_active_jobs("stash_scan").values_list("pk", flat=True)]
    in_stash = [
        f"Stash job {job.get('id')} ({job.get('description')})"
        for job in _stash_queue()
        if str(job.get("description") or "").lower().startswith("scan")
    ]
    return ours + in_stash


def _reload(pk) -> Job:
    return Job.objects.get(pk=pk)


class AutoStashGenerationDaemon(BaseDaemon):
    kind = "auto_stash_generation"
    title = "Auto Stash Generation Daemon"
    description = "Runs Stash's metadata generation when the system is idle; stops it when a scan starts."
    config_schema = Schema(
        (
            HEARTBEAT_INTERVAL,
            Field("job_interval_seconds", int, 3600, "Seconds to wait between generation cycles.", min=1, max=604_800),
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outage = StashOutage()

    async def run(self):
        await self.log("INFO", f"Auto Stash Generation Daemon started with config: {self.config}")
        while self.running:
            try:
                await self.cycle()
            except StashError as error:
                await report_stash_error(self, self.outage, error, self.config["job_interval_seconds"])

    async def rest(self, message: str):
        seconds = self.config["job_interval_seconds"]
        await self.update_status(message.format(n=seconds))
        await self.sleep(seconds)

    async def cycle(self):
        # After a restart, watch the generation this daemon already started instead of starting another.
        adopted = await self.active_jobs("stash_generate")
        if adopted:
            await self.monitor(adopted[0])
            await self.rest("Generation cycle complete, sleeping for {n} seconds")
            return
        await self.update_status("Checking for running jobs")
        active = await in_thread(_idle_check)
        stash_busy = await in_thread(_stash_queue)
        await stash_answered(self)
        if active or stash_busy:
            seconds = self.config["job_interval_seconds"]
            what = active + [f"Stash: {job.get('description')}" for job in stash_busy]
            await self.log("DEBUG", f"Found {len(what)} running/pending jobs: {what}")
            await self.log("INFO", f"Jobs are running, skipping generation check and sleeping for {seconds} seconds")
            await self.update_status(f"Jobs are running, sleeping for {seconds} seconds")
            await self.sleep(seconds)
            return
        await self.update_status("Checking for scenes needing generation")
        count, scene_ids = await in_thread(_ungenerated)
        if not count:
            await self.log("DEBUG", "All scenes have generated attribute set to true")
            await self.rest("All scenes generated, sleeping for {n} seconds")
            return
        await self.log("INFO", f"Found {count} scenes with generated=false")
        await self.update_status(f"Starting metadata generation for {count} scenes")
        job = await self.launch_job(
            "stash_generate",
            {"scene_ids": scene_ids},
            reason=f"Running metadata generation for {count} scenes with generated=false",
        )
        await self.monitor(job)
        await self.rest("Generation cycle complete, sleeping for {n} seconds")

    async def monitor(self, job: Job):
        """Watch the generation job to its end; cancel it (once) when a scan shows up."""
        await self.update_status("Generating metadata", job_id=job.pk, job_type=job.type)
        cancelled = False
        while self.running:
            job = await in_thread(_reload, job.pk)
            if job.is_finished:
                await self.finished(job, cancelled_by_us=cancelled)
                return
            if job.progress:
                await self.log("DEBUG", f"Generation job progress: {job.progress:.0f}%")
            if not cancelled:
                scans = await in_thread(_scans_in_progress)
                if scans:
                    await self.log("INFO", f"Detected {len(scans)} scan jobs, cancelling generation job {job.pk}")
                    await self.update_status("Cancelling generation due to scan jobs", job_id=job.pk, job_type=job.type)
                    await self.cancel_job(job, "Cancelled due to detected scan jobs: " + ", ".join(scans))
                    cancelled = True
                    continue  # a pending job is cancelled at once: record it without waiting
            await self.sleep(self.config["monitor_interval_seconds"] if not cancelled else 1.0)

    async def finished(self, job: Job, cancelled_by_us: bool):
        # LAUNCHED → (CANCELLED with our reason) → the outcome: the history tells the whole story once.
        outcomes = {"completed": JobAction.FINISHED, "failed": JobAction.FAILED}
        action = outcomes.get(job.status, JobAction.FINISHED if cancelled_by_us else JobAction.CANCELLED)
        await self.record_job_action(job, action, f"Job ended with status {job.status}")
        await self.log("INFO", f"Generation job {job.pk} completed with status: {job.status}")
        if job.status == "completed":
            result = job.result or {}
            await self.log(
                "INFO",
                "Stash metadata generation completed successfully: "
                f"{result.get('marked_generated', 0)} scenes marked generated, "
                f"{result.get('scenes_still_missing', 0)} still missing artefacts",
            )
        else:
            await self.log("WARNING", f"Stash metadata generation completed with status: {job.status}: {job.error}")
