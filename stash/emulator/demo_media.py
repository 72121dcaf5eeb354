"""Real files behind the demo library, so that demo mode does real work: the built-in video analyzer reads
them with ffprobe/ffmpeg and proposes tags and markers, and a scan of the library finds them.

    clips = make_clips(media_dir)          # ffmpeg, once: later starts reuse the clips on disk
    attach_media(store, media_dir, clips)  # every demo file becomes a link to one of the clips

Five short clips (a few MB in all) cover what the analyzer tells apart: resolution classes, 60 fps,
HEVC, VR proportions and file names, hard cuts (scene-change markers) and a video without cuts. Each
scene's file is a hard link to a clip under `<media_dir>/library/<studio>/`, so 60 scenes cost no more
disk than 5 clips. The clips themselves live in `<media_dir>/clips/`, outside the library, so that a
scan of the library does not find them as scenes of their own.
"""

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime

from stash.emulator.tasks import oshash, probe

logger = logging.getLogger(__name__)

LIBRARY_DIR = "library"
CLIPS_DIR = "clips"
FFMPEG_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Clip:
    name: str
    container: str
    width: int
    height: int
    fps: int
    encoder: str
    # One lavfi source per shot, each `shot_seconds` long: two or more shots make hard cuts.
    shots: tuple[str, ...]
    shot_seconds: float
    # Appended to the scene file's name (VR releases say so in their names).
    name_suffix: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.container}"


CLIPS = (
    Clip("cuts-720p", "mp4", 1280, 720, 30, "libx264", ("testsrc2", "smptebars", "color=c=navy"), 4),
    Clip("calm-480p", "mp4", 854, 480, 25, "libx264", ("testsrc2",), 10),
    Clip("fast-1080p60", "mp4", 1920, 1080, 60, "libx264", ("testsrc2", "rgbtestsrc"), 3),
    Clip("hevc-720p", "mkv", 1280, 720, 30, "libx265", ("testsrc2", "rgbtestsrc"), 3),
    Clip("vr-2880", "mp4", 2880, 1440, 30, "libx264", ("testsrc2", "smptebars"), 3, name_suffix="_180_sbs"),
)


def ffmpeg_available() -> bool:
    return bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))


def make_clips(media_dir: str) -> dict[Clip, str]:
    """The clips' paths, made with ffmpeg where they are not on disk yet. Raises RuntimeError with
    ffmpeg's message when a clip cannot be made."""
    folder = os.path.join(media_dir, CLIPS_DIR)
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for clip in CLIPS:
        path = os.path.join(folder, clip.filename)
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            _encode(clip, path)
        paths[clip] = path
    return paths


def _encode(clip: Clip, path: str):
    argv = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    size = f"{clip.width}x{clip.height}"
    for source in clip.shots:
        joiner = ":" if "=" in source else "="  # "color=c=navy" has options already, "testsrc2" none
        argv += ["-f", "lavfi", "-i", f"{source}{joiner}s={size}:r={clip.fps}:d={clip.shot_seconds}"]
    total = clip.shot_seconds * len(clip.shots)
    argv += ["-f", "lavfi", "-i", f"sine=f=440:d={total}"]
    shots = "".join(f"[{i}:v]" for i in range(len(clip.shots)))
    argv += ["-filter_complex", f"{shots}concat=n={len(clip.shots)}:v=1:a=0[v]", "-map", "[v]"]
    argv += ["-map", f"{len(clip.shots)}:a", "-c:a", "aac", "-b:a", "32k"]
    argv += ["-c:v", clip.encoder, "-preset", "ultrafast", "-crf", "38", "-pix_fmt", "yuv420p"]
    if clip.encoder == "libx265":
        argv += ["-x265-params", "log-level=error"]
    partial = f"{path}.partial.{clip.container}"  # a clip interrupted half-way is never taken as made
    try:
        done = subprocess.run(argv + [partial], capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"ffmpeg could not make the demo clip {clip.filename}: {exc}") from exc
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"ffmpeg could not make the demo clip {clip.filename}: {message}")
    os.replace(partial, path)


def attach_media(store, media_dir: str, clips: dict[Clip, str]) -> int:
    """Point every file of the store's scenes at a real link to a clip (scene by scene, in turn through
    the clips), with the attributes, size, modification time and oshash Stash would have read from it.
    Returns how many files now exist on disk. Call it before the store is served (the command does, at
    start): it links files on disk as it goes, so it takes no store lock."""
    library = os.path.join(media_dir, LIBRARY_DIR)
    facts = {clip: _facts(store, path) for clip, path in clips.items()}
    order = list(clips)
    linked = 0
    for index, scene_id in enumerate(sorted(store.scenes)):
        scene = store.scenes[scene_id]
        clip = order[index % len(order)]
        attrs, size, mod_time, fingerprint = facts[clip]
        if scene.files:
            _fit_markers(store, scene, scene.files[0].duration, attrs.get("duration") or 0.0)
        for file in scene.files:
            old = file.path
            folder = os.path.basename(os.path.dirname(old)) or "misc"
            stem = os.path.splitext(os.path.basename(old))[0]
            path = os.path.join(library, folder, f"{stem}{clip.name_suffix}.{clip.container}")
            _link(clips[clip], path)
            store.files_by_path.pop(old, None)
            store.files_by_path[path] = scene.id
            file.path, file.basename = path, os.path.basename(path)
            for name, value in attrs.items():
                setattr(file, name, value)
            file.size, file.mod_time = size, mod_time
            file.set_fingerprint("oshash", fingerprint)
            linked += 1
    store.touch("scene")
    return linked


def _fit_markers(store, scene, old_duration: float, new_duration: float):
    """The seeded markers were placed along the made-up duration: move them to the same place in the clip."""
    if old_duration <= 0 or new_duration <= 0:
        return
    scale = new_duration / old_duration
    for marker_id in scene.marker_ids:
        marker = store.markers[marker_id]
        marker.seconds = round(marker.seconds * scale, 3)
        if marker.end_seconds is not None:
            marker.end_seconds = round(min(marker.end_seconds * scale, new_duration), 3)


def _facts(store, path: str):
    stat = os.stat(path)
    mod_time = store.time_string(datetime.fromtimestamp(int(stat.st_mtime), UTC))
    return probe(path), stat.st_size, mod_time, oshash(path, stat.st_size)


def _link(source: str, path: str):
    """A hard link to the clip (a copy where the file system has none); an existing one is kept."""
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        os.link(source, path)
    except OSError:
        shutil.copyfile(source, path)
        shutil.copystat(source, path)


def prepare_demo_media(store, media_dir: str) -> str:
    """Demo media for a freshly seeded demo store, as one line for the log. Without ffmpeg the demo
    library keeps its made-up paths (and says what that means)."""
    if not ffmpeg_available():
        return "ffmpeg is not installed: the demo scenes have no real files, so video analysis reports them missing"
    clips = make_clips(media_dir)
    store.library_paths = store.library_paths or [os.path.join(media_dir, LIBRARY_DIR)]
    count = attach_media(store, media_dir, clips)
    library = os.path.join(media_dir, LIBRARY_DIR)
    return f"demo media: {count} files under {library} (links to {len(clips)} clips made with ffmpeg)"
