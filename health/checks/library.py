"""The library folder (where downloads are placed): writable, and how much space is free. A warning
under HEALTH_FREE_SPACE_WARNING_PERCENT (10 %) or HEALTH_FREE_SPACE_WARNING_BYTES (20 GB) free, an
error under HEALTH_FREE_SPACE_ERROR_PERCENT (2 %)."""

import os
import shutil
import tempfile

from django.conf import settings

from health.checks import Check, Result, error, ok, warning
from health.checks.qbittorrent import _size
from orchestrator.paths import qbittorrent_settings_path
from stash.downloads.models import QBittorrentSettings


def run() -> Result:
    row = QBittorrentSettings.load()
    folder = row.library_path
    if not folder:
        return ok("No library folder is set: downloads are not placed anywhere.", configured=False)
    fix_folder = f"Create it (or mount it), or correct the library folder on {qbittorrent_settings_path()}."
    if not os.path.isdir(folder):
        return error(f"The library folder {folder} does not exist: downloads cannot be placed.", fix_folder)
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".orchestrator-health-"):
            pass
    except OSError as exc:
        usage = _usage(folder)
        if usage and usage["free_bytes"] == 0:
            return error(f"The library folder {folder} is full: {exc.strerror}.", "Free space on it.", **usage)
        return error(
            f"The library folder {folder} is not writable: {exc.strerror or exc}.",
            "Give this user write permission on it (or mount it read-write).",
        )
    usage = _usage(folder) or {}
    free, total = usage.get("free_bytes", 0), usage.get("total_bytes", 0)
    percent = 100.0 * free / total if total else 0.0
    usage["free_percent"] = round(percent, 1)
    said = f"{_size(free)} free of {_size(total)} ({percent:.1f} %) in {folder}"
    if percent < settings.HEALTH_FREE_SPACE_ERROR_PERCENT:
        return error(f"The library folder is nearly full: {said}.", "Free space on it, or move the library.", **usage)
    if percent < settings.HEALTH_FREE_SPACE_WARNING_PERCENT or free < settings.HEALTH_FREE_SPACE_WARNING_BYTES:
        return warning(f"The library folder is running out of space: {said}.", "Free space on it soon.", **usage)
    return ok(f"The library folder is writable: {said}.", **usage)


def _usage(folder: str) -> dict | None:
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return None
    return {"free_bytes": usage.free, "total_bytes": usage.total}


CHECK = Check("library", "Library folder", "The library folder is writable and has free space.", run)
