"""Path mappings: every library folder Stash scans maps to a folder on this machine that exists and can
be read, as Sonarr's remote path mapping check does. A failing folder is named with the mapping that
translated it (or the lack of one) and the likely cause: the other OS's path style, a missing folder,
or a permission."""

import os
import re

from health.checks import Check, Result, error, ok, warning
from health.checks.stash import FreshClient
from orchestrator.paths import stash_settings_path
from stash.connection.config import TEST_CONNECT_TIMEOUT, TEST_READ_TIMEOUT, effective_connection, path_mapper
from stash.connection.errors import StashError

WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def run() -> Result:
    connection = effective_connection()
    if not connection.url:
        return warning("Stash is not configured, so its library folders are unknown.", "Configure Stash first.")
    client = FreshClient(
        connection.url,
        connection.api_key,
        connect_timeout=TEST_CONNECT_TIMEOUT,
        read_timeout=TEST_READ_TIMEOUT,
        attempts=1,
    )
    try:
        stashes = client.library_paths()
    except StashError as exc:
        return warning(
            f"Stash's library folders could not be read: {exc}",
            "See the Stash check; this one runs again once Stash answers.",
        )
    finally:
        client.close()
    mapper = path_mapper()
    folders, problems = [], []
    for entry in stashes:
        stash_path = entry["path"]
        local = mapper.to_local(stash_path)
        mapped = local != stash_path
        folders.append({"stash": stash_path, "local": local})
        problem = _problem(stash_path, local, mapped)
        if problem:
            problems.append(problem)
    if not stashes:
        return warning(
            "Stash has no library folders, so a scan finds nothing.",
            "Add your library folders in Stash (Settings → Library).",
            folders=folders,
        )
    if problems:
        fix = (
            f"On {stash_settings_path()}, add or correct a path mapping from the folder as this machine sees it "
            "to the folder as Stash sees it; check that it is mounted here and readable by this user."
        )
        return error(" ".join(problems), fix, folders=folders)
    names = ", ".join(f["local"] for f in folders)
    return ok(f"Every Stash library folder is readable here: {names}.", folders=folders)


def _problem(stash_path: str, local: str, mapped: bool) -> str | None:
    how = f"Stash's library folder {stash_path} maps to {local}" if mapped else f"Stash's library folder {stash_path}"
    if os.sep == "/" and WINDOWS_PATH.match(local):
        return f"{how} is a Windows path, and no path mapping turns it into a folder of this machine."
    if not os.path.exists(local):
        if not mapped:
            return f"{how} does not exist on this machine and no path mapping covers it."
        return f"{how}, which does not exist on this machine."
    if not os.path.isdir(local):
        return f"{how}, which is not a folder here."
    if not os.access(local, os.R_OK | os.X_OK):
        return f"{how}, which this user ({_user()}) may not read (permission denied)."
    return None


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid())


CHECK = Check(
    "path_mappings",
    "Path mappings",
    "Every library folder Stash scans maps to a readable folder on this machine.",
    run,
)
