"""AutoVideoAnalysisDaemon: feed scenes whose video is not analysed yet to `analysis` jobs, a batch at a time.

Each cycle picks up to `batch_size` scenes with `video_analyzed=false` that are due (never failed, or
their retry time has come) and that no live analysis job holds, starts one analysis job for them and
watches it to its end. While due scenes remain, the next batch starts at once (the prior art waited the
whole interval between batches); otherwise it rests `job_interval_seconds`, ending the rest as soon as
scenes become due: a sync that writes scenes wakes it (the SCENES wake-up), and it also looks every
IDLE_CHECK_SECONDS (the fallback while wake-ups are down, and for failed scenes whose retry time comes).
One job of its own at a time: after a restart it watches the one it had started instead of starting
another. It needs only the mirror, never Stash itself.
"""

import math

from daemons.base import HEARTBEAT_INTERVAL, POLL_SECONDS, BaseDaemon, job_interval_field
from daemons.models import StatusLevel
from daemons.quiet_hours import QUIET_HOURS
from daemons.threads import in_thread
from jobs.models import Job, JobStatus
from jobs.types.analysis import held_scene_ids
from orchestrator import wakeups
from orchestrator.typed import Field, Schema
from stash.analysis.run import default_plan_name
from stash.analysis.scenes import any_scene_due, scenes_due

JOB_TYPE = "analysis"
# While resting with nothing to do, how often to look (cheaply) for scenes that became due unannounced.
IDLE_CHECK_SECONDS = 5.0


def _any_due() -> bool:
    return any_scene_due(held_scene_ids())


def _candidates(limit: int) -> tuple[int, list[int]]:
    return scenes_due(limit, held_scene_ids())


class AutoVideoAnalysisDaemon(BaseDaemon):
    kind = "auto_video_analysis"
    title = "Auto Video Analysis Daemon"
    description = "Analyzes the videos of scenes not analyzed yet, in batches, one analysis job at a time."
    config_schema = Schema(
        (
            HEARTBEAT_INTERVAL,
            QUIET_HOURS,
            job_interval_field(600, "Seconds to wait between checking for scenes needing video analysis."),
            Field("batch_size", int, 50, "Number of scenes to analyze in each batch.", min=1, max=10_000),
        )
    )

    listens_to = (wakeups.JOB_ENDED, wakeups.SCENES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "Processing batch X of Y": Y is fixed when a run of batches starts (the pending total then) and
        # grows only if scenes arrive faster than batches finish.
        self.batch_number = 0
        self.batch_total = 0

    async def step(self) -> float:
        if self.watching is not None:
            finished = await self.watched_end()
            if finished is None:
                return POLL_SECONDS
            return await self.analysis_ended(finished)
        adopted = await self.active_jobs(JOB_TYPE)
        if adopted:
            # After a restart: its scenes are still held, so watch the job rather than start another.
            await self.log("INFO", f"Watching analysis job {adopted[0].pk} started before a restart")
            return await self.watch_batch(adopted[0])
        await self.update_status("Checking for scenes needing video analysis")
        size = self.config["batch_size"]
        pending, scene_ids = await in_thread(_candidates, size)
        if not scene_ids:
            self.batch_number = self.batch_total = 0
            await self.log("DEBUG", "No scenes pending video analysis")
            return await self.rest("No scenes to analyze, sleeping for {n} seconds", wake_on_work=True)
        if self.batch_number == 0:
            await self.log("INFO", f"Found {pending} scenes pending video analysis")
        self.batch_number += 1
        self.batch_total = max(self.batch_total, self.batch_number - 1 + math.ceil(pending / size))
        progress = f"Processing batch {self.batch_number} of {self.batch_total} ({len(scene_ids)} scenes)"
        await self.log("INFO", progress)
        await self.update_status(progress)
        job = await self.launch_job(
            JOB_TYPE,
            {"scene_ids": scene_ids, "plan_name": default_plan_name()},
            reason=f"Video tag analysis for {len(scene_ids)} scenes",
        )
        return await self.watch_batch(job)

    async def watch_batch(self, job: Job) -> float:
        await self.watch(job, f"Analyzing video tags for {_scene_count(job)} scenes")
        return POLL_SECONDS

    async def rest(self, message: str, *, wake_on_work: bool = False) -> float:
        """Rest `job_interval_seconds`; with `wake_on_work`, only until scenes are due (a sync that brings
        new scenes should not wait out the interval)."""
        seconds = self.config["job_interval_seconds"]
        await self.update_status(message.format(n=seconds), level=StatusLevel.WAITING, next_in=seconds)
        if not wake_on_work:
            return seconds
        return self.rest_until_news(seconds, wakeups.SCENES, ready=_any_due, poll=IDLE_CHECK_SECONDS)

    async def analysis_ended(self, finished: Job) -> float:
        if finished.status != JobStatus.COMPLETED:
            status = finished.status
            await self.log("WARNING", f"Analysis job {finished.pk} ended with status {status}: {finished.error}")
            return await self.rest(f"Analysis job ended with status {status}, sleeping for {{n}} seconds")
        result = finished.result or {}
        await self.log(
            "INFO",
            f"Analysis job {finished.pk} completed: {result.get('scenes_analyzed', 0)} scenes analyzed, "
            f"{result.get('scenes_failed', 0)} failed (retried later), "
            f"{result.get('total_changes', 0)} changes proposed in plan {result.get('plan_id')}",
        )
        handled = result.get("scenes_analyzed", 0) + result.get("scenes_failed", 0)
        if handled >= _scene_count(finished) > 0 and await in_thread(_any_due):
            return 0.0  # more scenes are waiting: the next batch starts now, not after the interval
        return await self.rest("Analysis completed, sleeping for {n} seconds", wake_on_work=True)


def _scene_count(job: Job) -> int:
    return len((job.parameters or {}).get("scene_ids", []))
