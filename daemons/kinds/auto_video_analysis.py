"""AutoVideoAnalysisDaemon: feed scenes whose video is not analysed yet to `analysis` jobs, a batch at a time.

Each cycle picks up to `batch_size` scenes with `video_analyzed=false` that are due (never failed, or
their retry time has come) and that no live analysis job holds, starts one analysis job for them and
watches it to its end. While due scenes remain, the next batch starts at once (the prior art waited the
whole interval between batches); otherwise it sleeps `job_interval_seconds`, looking every
IDLE_CHECK_SECONDS for scenes that became due (a sync bringing new ones) so that they need not wait out
the interval. One job of its own at a time: after a restart it watches the one it had started instead of
starting another. It needs only the mirror, never Stash itself.
"""

import math
import time

from django.db.models import Q
from django.utils import timezone

from daemons.base import HEARTBEAT_INTERVAL, BaseDaemon
from daemons.kinds.stash_common import in_thread
from orchestrator.typed import Field, Schema
from stash.analysis.run import default_plan_name

JOB_TYPE = "analysis"
HELD_CHUNK = 1000
# While resting with nothing to do, how often to look (cheaply) for scenes that became due.
IDLE_CHECK_SECONDS = 5.0


def _held_scene_ids() -> set[int]:
    """Scenes in the parameters of analysis jobs that are pending or running on a live worker (anyone's)."""
    from jobs.queries import live_active_jobs

    held = set()
    for parameters in live_active_jobs(JOB_TYPE).values_list("parameters", flat=True):
        held.update(i for i in (parameters or {}).get("scene_ids", []) if isinstance(i, int))
    return held


def _due_scenes():
    from stash.models import Scene

    return Scene.objects.filter(video_analyzed=False).filter(
        Q(video_analysis_retry_at__isnull=True) | Q(video_analysis_retry_at__lte=timezone.now())
    )


def _newest_due(limit: int, held: set[int]) -> list[int]:
    # Held scenes are skipped here rather than with NOT IN: a user's job may hold more ids than SQLite
    # accepts as query parameters.
    ids = []
    for scene_id in _due_scenes().order_by("-id").values_list("id", flat=True).iterator(chunk_size=max(limit, 500)):
        if scene_id not in held:
            ids.append(scene_id)
            if len(ids) == limit:
                break
    return ids


def _any_due() -> bool:
    """Whether a scene is due that no live job holds (the cheap check made while resting)."""
    return bool(_newest_due(1, _held_scene_ids()))


def _candidates(limit: int) -> tuple[int, list[int]]:
    """(how many scenes are due for video analysis, the newest `limit` of them), leaving out held scenes."""
    due = _due_scenes()
    held = _held_scene_ids()
    ids = _newest_due(limit, held)
    if len(ids) < limit:
        return len(ids), ids
    held_list = sorted(held)
    chunks = (held_list[i : i + HELD_CHUNK] for i in range(0, len(held_list), HELD_CHUNK))
    held_due = sum(due.filter(pk__in=chunk).count() for chunk in chunks)
    return due.count() - held_due, ids


class AutoVideoAnalysisDaemon(BaseDaemon):
    kind = "auto_video_analysis"
    title = "Auto Video Analysis Daemon"
    description = "Analyzes the videos of scenes not analyzed yet, in batches, one analysis job at a time."
    config_schema = Schema(
        (
            HEARTBEAT_INTERVAL,
            Field(
                "job_interval_seconds",
                int,
                600,
                "Seconds to wait between checking for scenes needing video analysis.",
                min=1,
                max=604_800,
            ),
            Field("batch_size", int, 50, "Number of scenes to analyze in each batch.", min=1, max=10_000),
        )
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "Processing batch X of Y": Y is fixed when a run of batches starts (the pending total then) and
        # grows only if scenes arrive faster than batches finish.
        self.batch_number = 0
        self.batch_total = 0

    async def run(self):
        await self.log("INFO", f"Auto Video Analysis Daemon started with config: {self.config}")
        while self.running:
            await self.cycle()

    async def rest(self, message: str, *, wake_on_work: bool = False):
        """Sleep `job_interval_seconds`; with `wake_on_work`, wake as soon as scenes are due (a sync that
        brings new scenes should not wait out the interval)."""
        seconds = self.config["job_interval_seconds"]
        await self.update_status(message.format(n=seconds))
        if not wake_on_work:
            await self.sleep(seconds)
            return
        deadline, config = time.monotonic() + seconds, self.config
        while self.running and (left := deadline - time.monotonic()) > 0:
            await self.sleep(min(IDLE_CHECK_SECONDS, left))
            if self.config is not config:
                return  # a new configuration (another interval, say) takes effect now, as with a plain sleep
            if self.running and await in_thread(_any_due):
                await self.log("DEBUG", "Scenes are due for video analysis: checking before the interval is up")
                return

    async def cycle(self):
        adopted = await self.active_jobs(JOB_TYPE)
        if adopted:
            # After a restart: its scenes are still held, so watch the job rather than start another.
            await self.log("INFO", f"Watching analysis job {adopted[0].pk} started before a restart")
            await self.watch(adopted[0])
            return
        await self.update_status("Checking for scenes needing video analysis")
        size = self.config["batch_size"]
        pending, scene_ids = await in_thread(_candidates, size)
        if not scene_ids:
            self.batch_number = self.batch_total = 0
            await self.log("DEBUG", "No scenes pending video analysis")
            await self.rest("No scenes to analyze, sleeping for {n} seconds", wake_on_work=True)
            return
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
        await self.watch(job)

    async def watch(self, job):
        count = len((job.parameters or {}).get("scene_ids", []))
        finished = await self.wait_for_job(job, f"Analyzing video tags for {count} scenes")
        if finished is None:
            return  # stopping: the job goes on and is watched again after a restart
        if finished.status == "completed":
            result = finished.result or {}
            await self.log(
                "INFO",
                f"Analysis job {finished.pk} completed: {result.get('scenes_analyzed', 0)} scenes analyzed, "
                f"{result.get('scenes_failed', 0)} failed (retried later), "
                f"{result.get('total_changes', 0)} changes proposed in plan {result.get('plan_id')}",
            )
            handled = result.get("scenes_analyzed", 0) + result.get("scenes_failed", 0)
            if handled >= count > 0 and await in_thread(_any_due):
                return  # more scenes are waiting: the next batch starts now, not after the interval
            await self.rest("Analysis completed, sleeping for {n} seconds", wake_on_work=True)
        else:
            status = finished.status
            await self.log("WARNING", f"Analysis job {finished.pk} ended with status {status}: {finished.error}")
            await self.rest(f"Analysis job ended with status {status}, sleeping for {{n}} seconds")
