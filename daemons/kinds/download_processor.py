"""DownloadProcessorDaemon: when qBittorrent has finished torrents that are not handled yet, run
`process_downloads`, then a `stash_scan` of the folders that received files, then sleep.

The chain is strict: processing → scan → sleep. It never starts a processing job while one is pending or
running, whoever started it (it watches that one instead), and the scan covers every placed file no scan
has covered yet, so files placed before a crash or by a "Process now" without its scan are scanned too.
When qBittorrent is not configured, unreachable or refuses the login, the status says exactly that and it
tries again later; logins themselves are rationed by stash.downloads.login so we never get banned.
"""

from django.db import transaction

from daemons import services
from daemons.base import HEARTBEAT_INTERVAL, POLL_SECONDS, BaseDaemon, job_interval_field
from daemons.models import JobAction, StatusLevel
from daemons.quiet_hours import QUIET_HOURS
from daemons.threads import in_thread
from jobs.models import Job, JobStatus
from jobs.queries import oldest_live_job
from jobs.types.process_downloads import plan_scan, start_scan
from orchestrator.backoff import Backoff
from orchestrator.paths import qbittorrent_settings_path
from orchestrator.typed import Schema
from stash.downloads.errors import DownloadsError, QBittorrentError, Unreachable
from stash.downloads.processing import pending_count
from stash.downloads.scanning import release

# While qBittorrent does not answer: retry after this long, doubling up to the daemon's interval.
FIRST_RETRY_SECONDS = 10.0


SCAN_REASON = "Scan new content after processing downloads"


def _start_scan(daemon, lease: str | None):
    """Launch the scan of the new files' folders with its LAUNCHED row, only while the lease holds. The
    scan's paths are checked (with Stash) before the daemon's row is locked: a lock held across a network
    call would hold up the standby, and PostgreSQL ends a host's transaction idle past the lease."""
    plan = plan_scan()
    if plan is None:
        return None
    with transaction.atomic():
        services.hold_lease(daemon.pk, lease)
        scan = start_scan(created_by=daemon.name, plan=plan)
        if scan is not None:
            services.add_job_history(daemon, scan, JobAction.LAUNCHED, SCAN_REASON)
    return scan


class DownloadProcessorDaemon(BaseDaemon):
    kind = "download_processor"
    title = "Download Processor Daemon"
    description = "Places finished qBittorrent downloads in the library, then has Stash scan them."
    config_schema = Schema(
        (
            HEARTBEAT_INTERVAL,
            QUIET_HOURS,
            job_interval_field(300, "Seconds to wait between checking for completed downloads to process."),
        )
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The qBittorrent problem last reported (each new one is logged once), and its failures in a row.
        self.problem = ""
        self.unanswered = Backoff(first=FIRST_RETRY_SECONDS)
        # Whether this cycle processed downloads (it says so when it goes to sleep).
        self.processed = False

    async def step(self) -> float:
        if self.watching is not None:
            return await self.follow()
        self.processed = False
        running = await in_thread(oldest_live_job, "process_downloads")
        if running is not None:
            # Someone (us before a restart, "Process now", the API) is already processing: watch, start nothing.
            await self.watch(running, "Waiting for download processing to complete")
            return POLL_SECONDS
        await self.update_status("Checking qBittorrent for new downloads")
        try:
            pending = await in_thread(pending_count)
        except DownloadsError as problem:
            return await self.qbittorrent_problem(problem)
        self.unanswered.reset()
        if self.problem:
            self.problem = ""
            await self.log("INFO", "qBittorrent answers again")
        if not pending:
            return await self.scan_new_files()
        await self.log("INFO", f"Found {pending} downloads pending processing")
        job = await self.launch_job("process_downloads", {"scan": False}, reason=f"Process {pending} pending downloads")
        await self.watch(job, f"Processing {pending} downloads")
        return POLL_SECONDS

    async def follow(self) -> float:
        """The chain after a watched job: processing ended → scan; scan ended → sleep."""
        finished = await self.watched_end()
        if finished is None:
            return POLL_SECONDS
        if finished.type == "process_downloads":
            await self.processing_finished(finished)
            self.processed = True
            return await self.scan_new_files()
        await self.scan_finished(finished)
        return await self.rest()

    async def rest(self) -> float:
        seconds = self.config["job_interval_seconds"]
        if self.processed:
            message = f"Download processing cycle complete, sleeping for {seconds} seconds"
        else:
            await self.log("DEBUG", "No downloads pending processing")
            message = f"No new downloads, sleeping for {seconds} seconds"
        await self.update_status(message, level=StatusLevel.WAITING, next_in=seconds)
        return seconds

    async def processing_finished(self, job: Job):
        if job.status != JobStatus.COMPLETED:
            await self.log("WARNING", f"Process downloads job {job.pk} ended with status {job.status}: {job.error}")
            return
        result = job.result or {}
        await self.log(
            "INFO",
            f"Process downloads job {job.pk} completed: {result.get('synced_items', 0)} torrents handled, "
            f"{result.get('failed_items', 0)} failed, {result.get('retry_items', 0)} left for the next run; "
            f"{result.get('total_files_linked', 0)} files linked, {result.get('total_files_copied', 0)} copied.",
        )
        if result.get("failed_items"):
            await self.log("WARNING", f"Process downloads job had {result['failed_items']} failed items")

    async def scan_new_files(self) -> float:
        """Scan the folders of placed files no scan covers yet (a scan of ours still running after a
        restart is watched instead); sleep when there is nothing to scan."""
        adopted = await self.active_jobs("stash_scan")
        if adopted:
            scan = adopted[0]
        else:
            scan = await in_thread(_start_scan, self._row, self._fence)
            if scan is None:
                return await self.rest()
            folders = scan.parameters["paths"]
            await self.log("INFO", f"Launching Stash metadata scan job {scan.pk} of {len(folders)} folders: {folders}")
        await self.watch(scan, "Triggering Stash metadata scan")
        return POLL_SECONDS

    async def scan_finished(self, scan: Job):
        if scan.status == JobStatus.COMPLETED:
            await self.log("INFO", f"Stash metadata scan job {scan.pk} completed successfully")
            return
        # Its files wait for the next scan instead of being forgotten.
        await in_thread(release, scan.pk)
        await self.log("WARNING", f"Stash scan job {scan.pk} ended with status {scan.status}: {scan.error}")

    async def qbittorrent_problem(self, problem: DownloadsError) -> float:
        """Say what is wrong and try again later: soon (doubling) while qBittorrent does not answer, after
        the full interval for anything a person must fix (settings, credentials)."""
        message, seconds = str(problem), self.config["job_interval_seconds"]
        unanswered = isinstance(problem, Unreachable | QBittorrentError)
        delay = self.unanswered.next_delay(seconds) if unanswered else seconds
        if message != self.problem:
            self.problem = message
            await self.log("ERROR" if unanswered else "WARNING", message)
        # Not answering is a failure; anything else (settings, credentials) waits for a person: a warning.
        level = StatusLevel.ERROR if unanswered else StatusLevel.WARNING
        await self.update_status(
            f"{message}; retrying in {delay:.0f} seconds",
            level=level,
            link=(qbittorrent_settings_path(), "qBittorrent settings"),
            next_in=delay,
        )
        return delay
