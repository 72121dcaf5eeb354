"""Which placed files no Stash scan has covered yet, and the folders a scan of them needs.

A placed file's row keeps `scan_job_id` empty until a stash_scan job is created for its folder, in the
same transaction (jobs.types.process_downloads.start_scan). So a crash anywhere between placing a file
and creating the scan leaves the file "unscanned", and the next cycle scans it: nothing is missed.
"""

import os

from stash.downloads.models import FileStatus, HandledDownload, QBittorrentSettings

# stash_scan accepts at most this many paths; past it the whole library folder is scanned instead.
MAX_SCAN_FOLDERS = 1000


def unscanned():
    """Rows of files in the library (placed now or found there) that no scan covers yet."""
    return HandledDownload.objects.filter(status__in=[FileStatus.PLACED, FileStatus.EXISTING], scan_job_id__isnull=True)


def folders_of(destinations: list[str]) -> list[str]:
    """Exactly the folders holding the files, sorted (a one-file torrent's folder is the library's)."""
    folders = sorted({os.path.dirname(path) for path in destinations if path})
    if len(folders) > MAX_SCAN_FOLDERS:
        library = QBittorrentSettings.load().library_path
        return [library] if library else []
    return folders


def release(scan_job_id) -> int:
    """A scan that did not finish covers nothing: its files wait for the next scan again."""
    return HandledDownload.objects.filter(scan_job_id=scan_job_id).update(scan_job_id=None)
