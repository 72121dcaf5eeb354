"""Video durations, for the optional minimum duration (ffprobe, like StashHog)."""

import subprocess
from pathlib import PurePath

from stash.downloads.validation import ffprobe_binary

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .avi .mkv .mov .wmv .flv .webm .m4v .mpg .mpeg .3gp .mp2 .mpe .mpv .m2v .svi .3g2 .mxf .roq .nsv "
    ".f4v .f4p .f4a .f4b".split()
)
FFPROBE_TIMEOUT_SECONDS = 30


def is_video(path) -> bool:
    return PurePath(path).suffix.lower() in VIDEO_EXTENSIONS


def duration_seconds(path) -> float | None:
    """The container's duration, or None when ffprobe cannot tell (missing, unreadable, not a video):
    an unknown duration never keeps a file out of the library."""
    try:
        done = subprocess.run(
            [
                ffprobe_binary(),
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "default=noprint_wrappers=1:nokey=1",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=FFPROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        value = float(done.stdout.strip().splitlines()[0])
    except (ValueError, IndexError):
        return None
    return value if value >= 0 else None
