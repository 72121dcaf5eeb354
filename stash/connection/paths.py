"""Translating file paths between this machine's view of the library and Stash's.

Stash often runs in a container that mounts the library somewhere else (`/srv/library` here is `/data`
in Stash). A mapping is a pair of directory prefixes; a path is translated by the longest prefix that
contains it, matched on whole path components (`/data` maps `/data/a.mp4`, never `/database/a.mp4`).
A path no mapping covers is returned unchanged: without mappings both sides see the same paths.
"""

from dataclasses import dataclass


def normalize_dir(path: str) -> str:
    """A directory prefix without trailing separators; a root ("/", "C:\\") keeps its separator."""
    path = path.strip()
    stripped = path.rstrip("/\\")
    if not stripped:
        return path[:1]
    if len(stripped) == 2 and stripped[1] == ":":
        return path[:3]
    return stripped


def _under(path: str, prefix: str) -> str | None:
    """The rest of `path` after directory `prefix` ("" when equal), or None when `prefix` does not contain it."""
    if path == prefix:
        return ""
    separator = "\\" if "\\" in prefix and "/" not in prefix else "/"
    head = prefix if prefix.endswith(("/", "\\")) else prefix + separator
    if path.startswith(head):
        return path[len(head) :]
    return None


def _join(prefix: str, rest: str, separator: str) -> str:
    if not rest:
        return prefix
    if prefix.endswith(("/", "\\")):
        return prefix + rest
    return prefix + separator + rest


@dataclass(frozen=True)
class PathMapper:
    """Both directions of a list of {"local": …, "stash": …} mappings (already validated)."""

    mappings: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_list(cls, mappings: list[dict] | None) -> "PathMapper":
        pairs = tuple((normalize_dir(m["local"]), normalize_dir(m["stash"])) for m in mappings or ())
        return cls(pairs)

    def to_stash(self, local_path: str) -> str:
        return self._translate(local_path, source=0)

    def to_local(self, stash_path: str) -> str:
        return self._translate(stash_path, source=1)

    def _translate(self, path: str, *, source: int) -> str:
        best = None
        for pair in self.mappings:
            rest = _under(path, pair[source])
            if rest is not None and (best is None or len(pair[source]) > len(best[0][source])):
                best = (pair, rest)
        if best is None:
            return path
        pair, rest = best
        target = pair[1 - source]
        # Stash on Windows sees backslash paths; keep the target side's separator.
        separator = "\\" if "\\" in target and "/" not in target else "/"
        if separator == "\\":
            rest = rest.replace("/", "\\")
        elif "\\" in pair[source] and "/" not in pair[source]:
            rest = rest.replace("\\", "/")
        return _join(target, rest, separator)
