"""qBittorrent (when configured): reachable, the login accepted, its download folder visible from here,
and hard links possible between that folder and the library (same file system); otherwise files are
copied, and the check says how much space that costs.

The login goes through the downloads' login gate (stash.downloads.login) like every other: a check
never spends qBittorrent's five tries before a ban."""

import os

from health.checks import Check, Result, error, ok, warning
from orchestrator.paths import qbittorrent_settings_path
from stash.downloads.client import TEST_TIMEOUTS, QBittorrent
from stash.downloads.errors import DownloadsError, LoginRefused, LoginRejected, Unreachable
from stash.downloads.models import LinkMode, QBittorrentSettings


def run() -> Result:
    row = QBittorrentSettings.load()
    if not row.is_configured:
        return ok("qBittorrent is not configured: downloads are not imported.", configured=False)
    fix_settings = f"Correct the qBittorrent settings on {qbittorrent_settings_path()}."
    try:
        with QBittorrent(row, timeouts=TEST_TIMEOUTS) as qb:
            version = qb.version()
            save_path = qb.default_save_path()
            torrents = qb.completed_torrents(row.category)
    except Unreachable as exc:
        return error(
            f"{exc}.",
            f"Start qBittorrent (with its Web UI on), or correct its host and port on {qbittorrent_settings_path()}.",
        )
    except (LoginRejected, LoginRefused) as exc:
        return error(f"{exc}.", f"Enter the Web UI username and password on {qbittorrent_settings_path()}.")
    except DownloadsError as exc:
        return error(f"{exc}.", fix_settings)
    facts = {"url": row.base_url, "version": version, "download_folder": save_path}
    if not save_path or not os.path.isdir(save_path):
        return error(
            f"qBittorrent {version} saves downloads to {save_path or '(nothing reported)'}, a folder this machine "
            "does not see: downloads cannot be imported.",
            "Mount qBittorrent's download folder here under the same path (or run both on one machine).",
            **facts,
        )
    if not row.library_path or not os.path.isdir(row.library_path):
        return ok(
            f"qBittorrent {version} at {row.base_url} answers; its download folder {save_path} is visible here "
            "(the library folder is checked separately).",
            **facts,
        )
    same_fs = os.stat(save_path).st_dev == os.stat(row.library_path).st_dev
    facts.update(library=row.library_path, hard_links=same_fs and row.link_mode == LinkMode.HARDLINK)
    if row.link_mode == LinkMode.COPY or not same_fs:
        size = sum(t.size for t in torrents)
        facts["copy_bytes"] = size
        cost = f"the completed torrents of category '{row.category}' alone would take {_size(size)} more"
        if row.link_mode == LinkMode.COPY:
            return ok(f"qBittorrent {version} answers. Files are copied (as set): {cost}.", **facts)
        return warning(
            f"qBittorrent {version} answers, but its download folder {save_path} and the library {row.library_path} "
            f"are on different file systems: hard links are impossible, so every file is copied ({cost}).",
            "Put the download folder and the library on one file system (one volume or mount) to link instead.",
            **facts,
        )
    return ok(
        f"qBittorrent {version} at {row.base_url} answers; {save_path} is visible here and on the library's file "
        "system, so files are hard-linked (no extra space).",
        **facts,
    )


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


CHECK = Check(
    "qbittorrent",
    "qBittorrent",
    "qBittorrent answers, accepts the login, its download folder is visible here and hard links work.",
    run,
)
