"""Where a torrent's file goes in the library, and putting it there safely.

- The destination is the library folder plus the file's path inside the torrent (qBittorrent's file name,
  relative to the save path), so a folder torrent keeps its folder and layout and a one-file torrent's file
  lands in the library folder itself. A multi-file torrent without a common folder gets one named after it.
- Names are untrusted (anyone can rename a torrent or its files to "../../etc"): every "/" or "\\" splits a
  name into components, and empty, "." and ".." components are dropped, so the joined path cannot leave
  the library; folders on the way must be real folders, not symlinks that lead elsewhere.
- Sources are only read: hard link, or copy, never move or delete. The source is opened once, without
  following a link, and the kernel's own name of what was opened must be the checked path
  (sources.confined_source); the link or copy is then made from that open file, so a file or folder
  swapped for a symlink between the check and the placement cannot bring in anything else.
- Nothing is ever overwritten. A destination that already holds the same file (same inode, or the same
  bytes) counts as placed; a different file there is a conflict that is reported, and left as it is.
- A copy is written to a temporary name and linked into place only when complete, so a crash or a full
  disk never leaves a partial file under the real name.
"""

import contextlib
import errno
import filecmp
import os
import shutil
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

# Errors that are the library folder's fault (full, read-only, no permission), not the torrent's.
LIBRARY_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES})
# os.link failures after which a copy still works.
COPY_INSTEAD_ERRNOS = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP})
PARTIAL_MARKER = ".orchestrator-partial-"


class PlacementError(Exception):
    """A file could not be placed. `library_problem`: the library folder is at fault (full, read-only),
    so the torrent is left to be tried again rather than marked failed."""

    def __init__(self, message: str, *, library_problem: bool = False):
        super().__init__(message)
        self.library_problem = library_problem


@dataclass(frozen=True)
class Placed:
    destination: Path
    method: str  # "hardlink", "copy", or "existing" (the same file was already there)
    size: int


def safe_components(name: str) -> list[str]:
    """A path from a torrent as harmless components: no separators, no "", "." or "..", no NUL."""
    parts = []
    for part in name.replace("\\", "/").split("/"):
        part = part.replace("\0", "").strip()
        if part in ("", ".", ".."):
            continue
        parts.append(part)
    return parts


def destination_parts(file_name: str, torrent_name: str, torrent_hash: str, *, add_torrent_folder: bool) -> list[str]:
    """The components of a file's destination under the library folder."""
    parts = safe_components(file_name)
    if add_torrent_folder:
        parts = (safe_components(torrent_name)[-1:] or [torrent_hash]) + parts
    if not parts:
        raise PlacementError(f"The file name {file_name!r} has nothing left once unsafe parts are removed")
    return parts


def needs_torrent_folder(file_names: list[str]) -> bool:
    """True for a multi-file torrent whose files share no top folder (they would scatter in the library)."""
    if len(file_names) < 2:
        return False
    tops = {tuple(safe_components(name)[:1]) for name in file_names}
    return len(tops) != 1 or any(len(safe_components(name)) < 2 for name in file_names)


def place(source: Path, library: Path, parts: list[str], *, mode: str) -> Placed:
    """Hard-link (or copy) `source` to library/parts. Raises PlacementError; never overwrites anything."""
    destination = library.joinpath(*parts)
    if os.path.commonpath([library, destination]) != str(library):  # cannot happen with safe parts; guard anyway
        raise PlacementError(f"{destination} is outside the library folder {library}")
    created: list[Path] = []
    with _pinned(source) as pinned:
        try:
            _make_folders(library, destination.parent, created)
            if os.path.lexists(destination):
                return _existing(pinned.path, destination)
            if mode == "hardlink":
                try:
                    pinned.link(destination)
                    return Placed(destination, "hardlink", pinned.size)
                except FileExistsError:
                    return _existing(pinned.path, destination)
                except OSError as exc:
                    if exc.errno not in COPY_INSTEAD_ERRNOS:
                        raise
            return _copy(pinned.path, destination)
        except OSError as exc:
            _remove_empty(created)
            raise PlacementError(
                f"Could not place {source} at {destination}: {exc.strerror or exc}",
                library_problem=exc.errno in LIBRARY_ERRNOS,
            ) from None
        except PlacementError:
            _remove_empty(created)
            raise


class _Pinned:
    """The source as one open file: `path` reads it (/proc/self/fd/N, the kernel's handle on that very
    inode), `link()` hard-links it."""

    def __init__(self, fd: int, size: int):
        self.fd, self.size = fd, size
        self.path = f"/proc/self/fd/{fd}"

    def link(self, destination: Path):
        # linkat(/proc/self/fd, "N", …, AT_SYMLINK_FOLLOW): the inode linked is the one opened and
        # checked, whatever its name points at by now (plain link() would link the magic link itself).
        folder = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.link(str(self.fd), destination, src_dir_fd=folder)
        finally:
            os.close(folder)


@contextlib.contextmanager
def _pinned(source: Path):
    """Open `source` without following a final symlink and yield it as a _Pinned, after checking that
    the kernel names what was opened `source` itself: a folder on the way swapped for a link since the
    check would open a file elsewhere, under another name."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise PlacementError(f"Source file does not exist: {source}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PlacementError(f"{source} is a symbolic link; only real files of the torrent are placed") from None
        raise PlacementError(f"Could not read {source}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PlacementError(f"Source is not a regular file: {source}")
        opened = os.readlink(f"/proc/self/fd/{fd}")
        if opened != str(source):
            raise PlacementError(f"{source} changed while it was placed (it now leads to {opened}); it was not placed")
        yield _Pinned(fd, info.st_size)
    finally:
        os.close(fd)


def _make_folders(library: Path, folder: Path, created: list[Path]):
    if not library.is_dir():
        raise PlacementError(f"The library folder {library} does not exist", library_problem=True)
    current = library
    for part in folder.relative_to(library).parts:
        current = current / part
        if current.is_symlink():
            raise PlacementError(f"{current} is a symbolic link; files are only placed in real folders")
        if not current.exists():
            current.mkdir()
            created.append(current)
        elif not current.is_dir():
            raise PlacementError(f"{current} exists and is not a folder")


def _existing(source: str, destination: Path) -> Placed:
    if destination.is_symlink() or not destination.is_file():
        raise PlacementError(f"{destination} already exists and is not a regular file; it was left as it is")
    if os.path.samefile(source, destination) or (
        os.stat(source).st_size == destination.stat().st_size and filecmp.cmp(source, destination, shallow=False)
    ):
        return Placed(destination, "existing", destination.stat().st_size)
    raise PlacementError(f"A different file already exists at {destination}; it was left as it is")


def _copy(source: str, destination: Path) -> Placed:
    # At most 255 bytes like any name: the destination's name is cut so that a 255-byte name still copies.
    suffix = f"{PARTIAL_MARKER}{uuid.uuid4().hex[:8]}"
    stem = os.fsencode(destination.name)[: 254 - len(suffix)].decode(errors="ignore")
    partial = destination.with_name(f".{stem}{suffix}")
    try:
        shutil.copy2(source, partial)
        try:
            # link() refuses to replace an existing name, so a file that appeared meanwhile is kept.
            os.link(partial, destination)
        except FileExistsError:
            return _existing(source, destination)
        except OSError as exc:
            if exc.errno not in COPY_INSTEAD_ERRNOS or os.path.lexists(destination):
                raise
            os.rename(partial, destination)  # no hard links on this file system
        return Placed(destination, "copy", destination.stat().st_size)
    finally:
        if os.path.lexists(partial):
            partial.unlink()


def _remove_empty(created: list[Path]):
    """Take back folders this attempt created, so a failed placement leaves the library as it was."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return
