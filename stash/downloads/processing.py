"""One run of the `process_downloads` job: place every file of qBittorrent's finished, unhandled torrents
of the configured category in the library, then tag each torrent handled or failed.

Per torrent:
1. Its content path must exist, else it is tagged failed ("Content path does not exist").
2. Each downloaded file without a finished HandledDownload row is measured (optional minimum duration)
   and placed (stash.downloads.placement); its row is written at once, so a crash loses at most the file
   in hand, which the next run finds already in place (same inode) and records.
3. Then the tag: any file the library could not take (full, read-only) → no tag, tried again next run;
   any other failed file → the failed tag; else the handled tag. A TorrentOutcome row says which and why.
qBittorrent going away mid-run stops the run: the torrent in hand stays untagged (its placed files are
recorded, so the next run only tags it), and the job fails with the reason.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator import notify
from orchestrator.paths import downloads_path, job_path
from stash.downloads import media
from stash.downloads.client import QBittorrent, Torrent, TorrentFile
from stash.downloads.errors import DownloadsError, NotConfigured
from stash.downloads.models import (
    DONE_FILE_STATUSES,
    FileStatus,
    HandledDownload,
    QBittorrentSettings,
    TorrentOutcome,
    TorrentOutcomeKind,
)
from stash.downloads.placement import PlacementError, destination_parts, needs_torrent_folder, place
from stash.downloads.sources import confined_source

MAX_RELATIVE_PATH = HandledDownload._meta.get_field("relative_path").max_length
# Reasons listed in a torrent's outcome before "and N more".
MAX_REASONS = 5


def library_folder(row: QBittorrentSettings) -> Path:
    """The library folder, which must exist: raises NotConfigured / DownloadsError otherwise."""
    if not row.library_path:
        raise NotConfigured("The download library folder is not configured: set it on the Settings page")
    library = Path(row.library_path)
    if not library.is_dir():
        raise DownloadsError(f"The library folder {library} does not exist on this machine")
    return library


@dataclass
class TorrentRun:
    """What happened to one torrent's files in this run."""

    torrent: Torrent
    placed: int = 0
    linked: int = 0
    copied: int = 0
    existing: int = 0
    skipped: int = 0
    under_duration: int = 0
    already_done: int = 0
    errors: list[str] = field(default_factory=list)
    library_errors: list[str] = field(default_factory=list)

    def outcome(self) -> tuple[str, str]:
        if self.library_errors:
            return TorrentOutcomeKind.RETRY, _summary(self.library_errors) + "; tried again next run"
        if self.errors:
            return TorrentOutcomeKind.FAILED, _summary(self.errors)
        return TorrentOutcomeKind.HANDLED, ""


def _summary(reasons: list[str]) -> str:
    text = "; ".join(reasons[:MAX_REASONS])
    return text + (f"; and {len(reasons) - MAX_REASONS} more" if len(reasons) > MAX_REASONS else "")


@dataclass
class Report:
    total: int = 0
    handled: int = 0
    failed: int = 0
    retry: int = 0
    files_linked: int = 0
    files_copied: int = 0
    files_existing: int = 0
    files_under_duration: int = 0
    files_skipped: int = 0
    files_failed: int = 0
    files_already_done: int = 0
    errors: list[dict] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)  # names of torrents with newly placed files

    def add(self, run: TorrentRun, kind: str, reason: str):
        if run.linked or run.copied:
            self.imported.append(run.torrent.name)
        self.handled += kind == TorrentOutcomeKind.HANDLED
        self.failed += kind == TorrentOutcomeKind.FAILED
        self.retry += kind == TorrentOutcomeKind.RETRY
        self.files_linked += run.linked
        self.files_copied += run.copied
        self.files_existing += run.existing
        self.files_under_duration += run.under_duration
        self.files_skipped += run.skipped
        self.files_failed += len(run.errors) + len(run.library_errors)
        self.files_already_done += run.already_done
        if reason:
            self.errors.append({"torrent": run.torrent.name, "hash": run.torrent.hash, "error": reason})

    def result(self) -> dict:
        # StashHog's keys (the daemon and pages read synced_items, failed_items, total_files_linked) and ours.
        return {
            "total_items": self.total,
            "processed_items": self.handled + self.failed + self.retry,
            "synced_items": self.handled,
            "failed_items": self.failed,
            "retry_items": self.retry,
            "skipped_items": 0,
            "total_files_linked": self.files_linked,
            "total_files_copied": self.files_copied,
            "total_files_existing": self.files_existing,
            "total_files_under_duration": self.files_under_duration,
            "total_files_skipped": self.files_skipped,
            "total_files_failed": self.files_failed,
            "total_files_already_handled": self.files_already_done,
            "errors": self.errors,
        }


def pending_count() -> int:
    """How many torrents a run would take now (the daemon's trigger). Raises DownloadsError."""
    row = QBittorrentSettings.load()
    if not row.is_configured:
        raise NotConfigured("qBittorrent is not configured: set its host on the Settings page")
    library_folder(row)
    with QBittorrent(row) as qb:
        return len(qb.pending(row.category, row.handled_tag, row.failed_tag))


def run(*, progress, check_cancelled, job_id=None) -> dict:
    """Process every pending torrent. `progress(percent, message, processed=, total=)` and
    `check_cancelled()` come from the job; cancellation is honoured between files and torrents."""
    row = QBittorrentSettings.load()
    progress(0, "Starting download processing job")
    if not row.is_configured:
        raise NotConfigured("qBittorrent is not configured: set its host on the Settings page")
    library = library_folder(row)
    with QBittorrent(row) as qb:
        progress(10, "Fetching pending downloads...")
        torrents = qb.pending(row.category, row.handled_tag, row.failed_tag)
        report = Report(total=len(torrents))
        for number, torrent in enumerate(torrents, start=1):
            check_cancelled()
            percent = 10 + 90 * (number - 1) / len(torrents)
            progress(
                percent,
                f"Processing torrent {number}/{len(torrents)}: {torrent.name}",
                processed=number - 1,
                total=len(torrents),
            )
            try:
                _process_torrent(qb, row, library, torrent, report, job_id, check_cancelled)
            except DownloadsError as exc:
                # The same kind of error (callers tell unreachable from rejected), saying where it stopped.
                raise type(exc)(f"{exc} (stopped at torrent {number} of {len(torrents)}: {torrent.name})") from None
        progress(100, "Download processing complete", processed=len(torrents), total=len(torrents))
    _notify_imported(report, job_id)
    return report.result()


def _notify_imported(report: "Report", job_id):
    placed = report.files_linked + report.files_copied
    if not placed:
        return
    names = report.imported[:5]
    more = f" and {len(report.imported) - 5} more" if len(report.imported) > 5 else ""
    notify.event(
        notify.DOWNLOADS_IMPORTED,
        "downloads",
        f"Imported {placed} file{'s' if placed != 1 else ''} from {len(report.imported)} download"
        f"{'s' if len(report.imported) != 1 else ''}",
        ", ".join(names) + more,
        link=job_path(job_id) if job_id else downloads_path(),
        level="success",
    )


def _process_torrent(qb, row, library, torrent: Torrent, report: Report, job_id, check_cancelled):
    run = TorrentRun(torrent)
    if not torrent.content_path or not os.path.exists(torrent.content_path):
        run.errors.append(f"Content path does not exist: {torrent.content_path or '(none reported)'}")
    else:
        files = [f for f in qb.files(torrent.hash) if f.priority > 0]
        # Names refused as sources do not count: one bad name must not push the good ones into a folder.
        add_folder = needs_torrent_folder([f.name for f in files if _readable(torrent, f.name)])
        done = set(
            HandledDownload.objects.filter(torrent_hash=torrent.hash, status__in=DONE_FILE_STATUSES).values_list(
                "relative_path", flat=True
            )
        )
        for torrent_file in files:
            check_cancelled()
            if torrent_file.name in done:
                run.already_done += 1
                continue
            _handle_file(row, library, torrent, torrent_file, add_folder, run, job_id)
    kind, reason = run.outcome()
    tag = {TorrentOutcomeKind.HANDLED: row.handled_tag, TorrentOutcomeKind.FAILED: row.failed_tag}.get(kind, "")
    if tag:
        try:
            qb.add_tag(torrent.hash, tag)
        except DownloadsError as exc:
            _record_outcome(run, job_id, TorrentOutcomeKind.RETRY, f"Could not tag it {tag!r}: {exc}", "")
            report.add(run, TorrentOutcomeKind.RETRY, str(exc))
            raise
    _record_outcome(run, job_id, kind, reason, tag)
    report.add(run, kind, reason)


def _handle_file(row, library: Path, torrent: Torrent, torrent_file: TorrentFile, add_folder: bool, run, job_id):
    # What the name says, for the row; the file is read only through confined_source().
    source = Path(os.path.normpath(os.path.join(torrent.save_path, torrent_file.name.replace("\0", ""))))
    values = {"torrent_name": torrent.name[:1000], "source_path": str(source), "job_id": job_id, "error": ""}
    try:
        source = confined_source(torrent.save_path, torrent.content_path, torrent_file.name)
        if len(torrent_file.name) > MAX_RELATIVE_PATH:
            raise PlacementError(
                f"The file's path is longer than {MAX_RELATIVE_PATH} characters: {torrent_file.name[:80]}…"
            )
        parts = destination_parts(torrent_file.name, torrent.name, torrent.hash, add_torrent_folder=add_folder)
        short = _too_short(row, source)
        if short:
            run.under_duration += 1
            run.skipped += 1
            values.update(
                status=FileStatus.SKIPPED, error=short, destination_path="", method="", size=torrent_file.size
            )
        else:
            placed = place(source, library, parts, mode=row.link_mode)
            values.update(destination_path=str(placed.destination), size=placed.size)
            if placed.method == "existing":
                run.existing += 1
                values.update(status=FileStatus.EXISTING, method="")
            else:
                run.placed += 1
                run.linked += placed.method == "hardlink"
                run.copied += placed.method == "copy"
                values.update(status=FileStatus.PLACED, method=placed.method)
    except PlacementError as exc:
        (run.library_errors if exc.library_problem else run.errors).append(str(exc))
        values.update(status=FileStatus.FAILED, error=str(exc), method="", destination_path="")
    except OSError as exc:
        # A name the file system cannot even look up (a component over 255 bytes: ENAMETOOLONG) fails this
        # file only; raised out of here it stopped the whole run, and so every later torrent, for good.
        reason = f"Could not read {torrent_file.name[:200]!r}: {exc.strerror or exc}"
        run.errors.append(reason)
        values.update(status=FileStatus.FAILED, error=reason, method="", destination_path="")
    if len(torrent_file.name) <= MAX_RELATIVE_PATH:
        HandledDownload.objects.update_or_create(
            torrent_hash=torrent.hash, relative_path=torrent_file.name, defaults=values
        )


def _readable(torrent: Torrent, name: str) -> bool:
    try:
        confined_source(torrent.save_path, torrent.content_path, name)
    except PlacementError:
        return False
    return True


def _too_short(row, source: Path) -> str:
    """Why a video is kept out for its duration ("" when it is not, or its duration is unknown)."""
    if not row.min_video_seconds or not media.is_video(source) or not source.is_file():
        return ""
    seconds = media.duration_seconds(source)
    if seconds is None or seconds >= row.min_video_seconds:
        return ""
    return f"The video is {seconds:.1f} s long, shorter than the minimum of {row.min_video_seconds} s"


def _record_outcome(run: TorrentRun, job_id, kind: str, reason: str, tag: str):
    TorrentOutcome.objects.create(
        job_id=job_id,
        torrent_hash=run.torrent.hash,
        torrent_name=run.torrent.name[:1000],
        outcome=kind,
        reason=reason,
        tagged=tag,
        files_placed=run.placed,
        files_existing=run.existing,
        files_skipped=run.skipped,
        files_failed=len(run.errors) + len(run.library_errors),
    )
