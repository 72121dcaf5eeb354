"""Which paths a `stash_scan` may name: absolute, normalised directories of this machine, inside Stash's
library as Stash reports it (its `stashes` paths, through the path mappings).

Issue 14: the job took any strings ("../../etc", "/", "", NUL), and the demo emulator crawled "/". The
form of each path is checked when the job is created; where it lies needs Stash's answer, so that is
checked at creation when Stash answers quickly, and again when the job starts, before Stash is asked to
scan anything.
"""

from stash.connection.errors import StashError
from stash.connection.paths import _under, normalize_dir

# The creation-time look-up must not hold a page or the API up when Stash is slow.
LOOKUP_TIMEOUTS = {"connect_timeout": 3.0, "read_timeout": 5.0}


def path_form_errors(paths) -> list[str]:
    """What is wrong with the form of `paths` (a list of strings): [] when every one is fine."""
    if not isinstance(paths, list):
        return ["Give a list of absolute folder paths."]
    errors = []
    for number, path in enumerate(paths, start=1):
        if not isinstance(path, str) or not path.strip():
            errors.append(f"Path {number} is empty.")
        elif "\0" in path:
            errors.append(f"Path {number} contains a NUL character.")
        elif not path.startswith("/"):
            errors.append(f"Path {number} must be absolute (start with /): {path!r}.")
        elif any(part in (".", "..") for part in path.split("/")):
            errors.append(f"Path {number} must not contain '.' or '..' parts: {path!r}.")
    return errors


def normalised(paths: list[str]) -> list[str]:
    """The paths without trailing or doubled slashes, each once (form already checked)."""
    cleaned = []
    for path in paths:
        path = normalize_dir("/" + "/".join(part for part in path.split("/") if part))
        if path not in cleaned:
            cleaned.append(path)
    return cleaned


def outside_library(stash_paths: list[str], library_roots: list[str]) -> list[str]:
    """The paths (as Stash sees them) that lie in none of Stash's library folders. With no library
    folder reported, nothing can be said: [] (Stash itself scans nothing outside its library)."""
    roots = [normalize_dir(root) for root in library_roots if root]
    if not roots:
        return []
    return [path for path in stash_paths if not any(_under(path, root) is not None for root in roots)]


def library_refusal(stash_paths: list[str], client) -> str:
    """Why Stash must not be asked to scan these paths ("" when it may). Raises StashError."""
    roots = [stash["path"] for stash in client.library_paths()]
    outside = outside_library(stash_paths, roots)
    if not outside:
        return ""
    return (
        f"Not inside Stash's library ({', '.join(roots)}): {', '.join(outside)}. "
        "Scan a folder of the library, or add the folder to Stash's library first."
    )


def quick_library_refusal(stash_paths: list[str]) -> str:
    """library_refusal() with short timeouts; "" when Stash is not configured or does not answer (the
    job checks again when it starts)."""
    from stash.connection.config import effective_connection

    connection = effective_connection()
    if not connection.url or not stash_paths:
        return ""
    try:
        return library_refusal(stash_paths, connection.client(attempts=1, **LOOKUP_TIMEOUTS))
    except StashError:
        return ""
