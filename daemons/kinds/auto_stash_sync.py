"""AutoStashSyncDaemon: keep the mirror current by starting an incremental `sync` whenever Stash changed.

Each cycle asks Stash how many scenes (and markers) changed after the mirror's watermarks and whether
anything was deleted; when something did, it starts an incremental sync job and watches it. It never
starts a second sync while one is pending or running, whoever started that one: it watches it instead.
"""

from daemons.base import HEARTBEAT_INTERVAL, BaseDaemon
from daemons.kinds.stash_common import StashOutage, in_thread, report_stash_error, stash_answered
from orchestrator.typed import Field, Schema
from stash.connection.errors import StashError


def _running_sync():
    from jobs.queries import live_active_jobs

    return live_active_jobs("sync").order_by("created_at").first()


def _pending():
    from stash.connection.config import get_client
    from stash.sync.pending import pending_changes

    return pending_changes(get_client())


def _describe(pending) -> str:
    parts = [f"{pending.scenes} scenes"]
    if pending.markers:
        parts.append(f"{pending.markers} marker changes")
    if pending.deletions:
        parts.append("deletions")
    return ", ".join(parts)


class AutoStashSyncDaemon(BaseDaemon):
    kind = "auto_stash_sync"
    title = "Auto Stash Sync Daemon"
    description = "Starts an incremental sync whenever scenes changed in Stash."
    config_schema = Schema(
        (
            HEARTBEAT_INTERVAL,
            Field(
                "job_interval_seconds",
                int,
                300,
                "Seconds to wait between checks for scenes changed in Stash.",
                min=1,
                max=604_800,
            ),
        )
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outage = StashOutage()

    async def run(self):
        await self.log("INFO", f"Auto Stash Sync Daemon started with config: {self.config}")
        while self.running:
            try:
                await self.cycle()
            except StashError as error:
                await report_stash_error(self, self.outage, error, self.config["job_interval_seconds"])

    async def cycle(self):
        seconds = self.config["job_interval_seconds"]
        running = await in_thread(_running_sync)
        if running is not None:
            # Someone (us before a restart, a user, the API) is already syncing: watch it, start nothing.
            await self.watch(running, "Waiting for sync to complete", count=None)
        else:
            await self.update_status("Checking for scenes to sync")
            pending = await in_thread(_pending)
            await stash_answered(self)
            if not pending.any:
                await self.log("DEBUG", "No scenes pending sync from Stash")
                await self.update_status(f"No pending scenes, sleeping for {seconds} seconds")
                await self.sleep(seconds)
                return
            what = _describe(pending)
            await self.log("INFO", f"Found {what} pending sync from Stash")
            job = await self.launch_job("sync", {}, reason=f"Incremental sync for {what}")
            await self.watch(job, f"Syncing {pending.scenes} scenes from Stash", count=pending.scenes)
        if self.running:
            await self.sleep(seconds)

    async def watch(self, job, status: str, count: int | None):
        finished = await self.wait_for_job(job, status)
        if finished is None:
            return  # stopping: the job goes on and is found again after a restart
        if finished.status == "completed":
            synced = (finished.result or {}).get("scenes_synced", count or 0)
            await self.log("INFO", f"Sync job {finished.pk} completed: {synced} scenes synced")
            await self.update_status(f"Sync completed for {synced} scenes")
        else:
            await self.log("WARNING", f"Sync job {finished.pk} ended with status {finished.status}: {finished.error}")
            await self.update_status(f"Sync job ended with status {finished.status}, next check later")
