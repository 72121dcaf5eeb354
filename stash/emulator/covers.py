"""Real covers for scenes whose file is on disk (the demo clips): one JPEG frame per file, made with ffmpeg
the first time it is asked for, as Stash's generate task makes a scene's screenshot. Other scenes keep the
emulator's drawn placeholder."""

import os
import shutil
import subprocess
import threading

_cache: dict[tuple[str, float], bytes] = {}
_lock = threading.Lock()
MAX_CACHED = 256


def frame_jpeg(path: str) -> bytes | None:
    """A 640-pixel-wide JPEG frame from half a second into the video at `path`, or None (no file, no ffmpeg,
    or ffmpeg failed)."""
    try:
        key = (path, os.path.getmtime(path))
    except OSError:
        return None
    with _lock:
        if key in _cache:
            return _cache[key]
    if not shutil.which("ffmpeg"):
        return None
    argv = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-ss",
        "1",
        "-i",
        path,
        "-frames:v",
        "1",
        "-vf",
        "scale=640:-2",
        "-f",
        "image2",
        "-c:v",
        "mjpeg",
        "pipe:1",
    ]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout:
        return None
    with _lock:
        if len(_cache) >= MAX_CACHED:
            _cache.pop(next(iter(_cache)))
        _cache[key] = done.stdout
    return done.stdout
