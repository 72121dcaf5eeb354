"""AutoStashSyncDaemon: keep the mirror current by starting an incremental `sync` whenever Stash changed.

Each cycle asks Stash how many scenes (and markers, tags, performers, studios) changed after the mirror's
watermarks and whether anything was deleted; when something did, it starts an incremental sync job and
watches it. It never starts a second sync while one is pending or running, whoever started that one: it
watches it instead.
"""

from daemons.base import HEARTBEAT_INTERVAL, POLL_SECONDS, BaseDaemon, job_interval_field
from daemons.models import StatusLevel
from daemons.quiet_hours import QUIET_HOURS
from daemons.threads import in_thread
from jobs.models import Job, JobStatus
from jobs.queries import oldest_live_job
from orchestrator.typed import Schema


def _pending():
    from stash.connection.config import get_client
    from stash.sync.pending import pending_changes

    return pending_changes(get_client())


def _entity_changes(pending) -> list[str]:
    return [f"{n} {kind} change{'' if n == 1 else 's'}" for kind, n in pending.entities.items()]


def _describe(pending) -> str:
    parts = [f"{pending.scenes} scenes"]
    if pending.markers:
        parts.append(f"{pending.markers} marker changes")
    if pending.deletions:
        parts.append("deletions")
    return ", ".join(parts + _entity_changes(pending))


def _syncing(pending) -> str:
    """What the status says the sync brings: scenes when any changed, else the entity changes."""
    entities = _entity_changes(pending)
    if pending.scenes or not entities:
        return f"Syncing {pending.scenes} scenes from Stash"
    return f"Syncing {' and '.join(entities)} from Stash"


class AutoStashSyncDaemon(BaseDaemon):
    kind = "auto_stash_sync"
    title = "Auto Stash Sync Daemon"
    description = "Starts an incremental sync whenever scenes, tags, performers or studios changed in Stash."
    config_schema = Schema(
        (
            HEARTBEAT_INTERVAL,
            QUIET_HOURS,
            job_interval_field(300, "Seconds to wait between checks for scenes changed in Stash."),
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Scenes Stash reported changed when the watched sync was launched (None: someone else's sync).
        self.expected_scenes: int | None = None

    async def step(self) -> float:
        if self.watching is not None:
            finished = await self.watched_end()
            if finished is None:
                return POLL_SECONDS
            await self.sync_ended(finished)
            return self.config["job_interval_seconds"]
        running = await in_thread(oldest_live_job, "sync")
        if running is not None:
            # Someone (us before a restart, a user, the API) is already syncing: watch it, start nothing.
            self.expected_scenes = None
            await self.watch(running, "Waiting for sync to complete")
            return POLL_SECONDS
        await self.update_status("Checking for scenes to sync")
        pending = await in_thread(_pending)
        await self.stash_answered()
        if not pending.any:
            seconds = self.config["job_interval_seconds"]
            await self.log("DEBUG", "No scenes pending sync from Stash")
            await self.update_status(
                f"No pending scenes, sleeping for {seconds} seconds", level=StatusLevel.WAITING, next_in=seconds
            )
            return seconds
        what = _describe(pending)
        await self.log("INFO", f"Found {what} pending sync from Stash")
        job = await self.launch_job("sync", {}, reason=f"Incremental sync for {what}")
        self.expected_scenes = pending.scenes
        await self.watch(job, _syncing(pending))
        return POLL_SECONDS

    async def sync_ended(self, finished: Job):
        """Say how the sync ended; the step then waits `job_interval_seconds`."""
        next_in = self.config["job_interval_seconds"]
        if finished.status == JobStatus.COMPLETED:
            synced = (finished.result or {}).get("scenes_synced", self.expected_scenes or 0)
            await self.log("INFO", f"Sync job {finished.pk} completed: {synced} scenes synced")
            await self.update_status(f"Sync completed for {synced} scenes", level=StatusLevel.WAITING, next_in=next_in)
        else:
            await self.log("WARNING", f"Sync job {finished.pk} ended with status {finished.status}: {finished.error}")
            await self.update_status(
                f"Sync job ended with status {finished.status}, next check later",
                level=StatusLevel.WARNING,
                next_in=next_in,
            )
