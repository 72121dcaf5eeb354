"""DownloadProcessorDaemon: when qBittorrent has finished torrents that are not handled yet, run
`process_downloads`, then a `stash_scan` of the folders that received files, then sleep.

The chain is strict: processing → scan → sleep. It never starts a processing job while one is pending or
running, whoever started it (it watches that one instead), and the scan covers every placed file no scan
has covered yet, so files placed before a crash or by a "Process now" without its scan are scanned too.
When qBittorrent is not configured, unreachable or refuses the login, the status says exactly that and it
tries again later; logins themselves are rationed by stash.downloads.login so we never get banned.
"""

from daemons.base import HEARTBEAT_INTERVAL, BaseDaemon
from daemons.kinds.stash_common import in_thread
from daemons.models import JobAction
from orchestrator.typed import Field, Schema
from stash.downloads.errors import DownloadsError, QBittorrentError, Unreachable

# While qBittorrent does not answer: retry after this long, doubling up to the daemon's interval.
FIRST_RETRY_SECONDS = 10.0


def _active_processing():
    from jobs.queries import live_active_jobs

    return live_active_jobs("process_downloads").order_by("created_at").first()


def _pending() -> int:
    from stash.downloads.processing import pending_count

    return pending_count()


def _start_scan(created_by: str):
    from jobs.types.process_downloads import start_scan

    return start_scan(created_by=created_by)


def _release(scan_job_id):
    from stash.downloads.scanning import release

    return release(scan_job_id)


class Trouble:
    """The current qBittorrent problem of the loop: spaces retries, logs each new problem once."""

    def __init__(self):
        self.failures = 0
        self.message = ""

    def next_delay(self, ceiling: float) -> float:
        self.failures += 1
        return min(float(ceiling), FIRST_RETRY_SECONDS * 2 ** (self.failures - 1))

    def changed(self, message: str) -> bool:
        changed, self.message = message != self.message, message
        return changed

    def clear(self) -> bool:
        """Reset; True when there had been a problem (worth a log line)."""
        had, self.failures, self.message = bool(self.message), 0, ""
        return had


class DownloadProcessorDaemon(BaseDaemon):
    kind = "download_processor"
    title = "Download Processor Daemon"
    description = "Places finished qBittorrent downloads in the library, then has Stash scan them."
    config_schema = Schema(
        (
            HEARTBEAT_INTERVAL,
            Field(
                "job_interval_seconds",
                int,
                300,
                "Seconds to wait between checking for completed downloads to process.",
                min=1,
                max=604_800,
            ),
        )
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trouble = Trouble()

    async def run(self):
        await self.log("INFO", f"Download Processor Daemon started with config: {self.config}")
        while self.running:
            await self.cycle()

    async def cycle(self):
        seconds = self.config["job_interval_seconds"]
        processed = False
        running = await in_thread(_active_processing)
        if running is not None:
            # Someone (us before a restart, "Process now", the API) is already processing: watch, start nothing.
            finished = await self.wait_for_job(running, "Waiting for download processing to complete")
            if finished is None:
                return
            await self.processing_finished(finished)
            processed = True
        else:
            await self.update_status("Checking qBittorrent for new downloads")
            try:
                pending = await in_thread(_pending)
            except DownloadsError as problem:
                await self.qbittorrent_problem(problem, seconds)
                return
            if self.trouble.clear():
                await self.log("INFO", "qBittorrent answers again")
            if pending:
                await self.log("INFO", f"Found {pending} downloads pending processing")
                job = await self.launch_job(
                    "process_downloads", {"scan": False}, reason=f"Process {pending} pending downloads"
                )
                finished = await self.wait_for_job(job, f"Processing {pending} downloads")
                if finished is None:
                    return
                await self.processing_finished(finished)
                processed = True
        if not await self.scan_new_files():
            return
        if processed:
            await self.update_status(f"Download processing cycle complete, sleeping for {seconds} seconds")
        else:
            await self.log("DEBUG", "No downloads pending processing")
            await self.update_status(f"No new downloads, sleeping for {seconds} seconds")
        await self.sleep(seconds)

    async def processing_finished(self, job):
        if job.status != "completed":
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

    async def scan_new_files(self) -> bool:
        """Scan the folders of placed files no scan covers yet (a scan of ours still running after a
        restart is watched instead). Returns False when the daemon is stopping."""
        adopted = await self.active_jobs("stash_scan")
        if adopted:
            scan = adopted[0]
        else:
            scan = await in_thread(_start_scan, self.name)
            if scan is None:
                return True
            folders = scan.parameters["paths"]
            await self.record_job_action(scan, JobAction.LAUNCHED, "Scan new content after processing downloads")
            await self.log("INFO", f"Launching Stash metadata scan job {scan.pk} of {len(folders)} folders: {folders}")
        finished = await self.wait_for_job(scan, "Triggering Stash metadata scan")
        if finished is None:
            return False
        if finished.status == "completed":
            await self.log("INFO", f"Stash metadata scan job {finished.pk} completed successfully")
        else:
            # Its files wait for the next scan instead of being forgotten.
            await in_thread(_release, finished.pk)
            await self.log(
                "WARNING", f"Stash scan job {finished.pk} ended with status {finished.status}: {finished.error}"
            )
        return True

    async def qbittorrent_problem(self, problem: DownloadsError, seconds: int):
        """Say what is wrong and try again later: soon (doubling) while qBittorrent does not answer, after
        the full interval for anything a person must fix (settings, credentials)."""
        message = str(problem)
        if isinstance(problem, Unreachable | QBittorrentError):
            delay = self.trouble.next_delay(seconds)
        else:
            delay = seconds
        if self.trouble.changed(message):
            await self.log("ERROR" if isinstance(problem, Unreachable | QBittorrentError) else "WARNING", message)
        await self.update_status(f"{message}; retrying in {delay:.0f} seconds")
        await self.sleep(delay)
