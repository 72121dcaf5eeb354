"""Where a torrent's file is read from, confined to the torrent.

qBittorrent's file names are untrusted: it accepts renames such as `F2/../../ESC.mkv` (reported as
`../ESC.mkv`, the file moved out of the save path), and a name may be absolute or lead through a
symbolic link. Joining such a name to the save path would make process_downloads hard-link or copy a
file from anywhere on this machine into the library. So a source must resolve, with every symbolic link
followed, to the very path the name gives, inside both the torrent's save path and its content path, and
must not itself be a link. The destination side is confined separately (placement.py).
"""

import os
from pathlib import Path

from stash.downloads.placement import PlacementError


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def confined_source(save_path: str, content_path: str, name: str) -> Path:
    """The file `name` (relative to `save_path`, as qBittorrent reports it) as a path that lies inside the
    torrent. Raises PlacementError with the reason otherwise."""
    if "\0" in name:
        raise PlacementError(f"The file name {name!r} contains a NUL character")
    if os.path.isabs(name) or name.startswith("\\"):
        raise PlacementError(f"The file name {name!r} is an absolute path; it is outside the torrent's folder")
    if not save_path or not os.path.isabs(save_path):
        raise PlacementError(f"qBittorrent reports no absolute save path for this torrent ({save_path!r})")
    roots = [os.path.realpath(save_path)]
    if content_path and os.path.isabs(content_path):
        roots.append(os.path.realpath(content_path))
    source = os.path.normpath(os.path.join(roots[0], name))
    if not all(_inside(source, root) for root in roots):
        raise PlacementError(f"The file {name!r} is outside the torrent's folder ({source}); it was not placed")
    if os.path.islink(source):
        raise PlacementError(f"The file {name!r} is a symbolic link; only real files of the torrent are placed")
    if os.path.realpath(source) != source:
        raise PlacementError(
            f"The file {name!r} lies under a symbolic link inside the torrent; only real files are placed"
        )
    return Path(source)
