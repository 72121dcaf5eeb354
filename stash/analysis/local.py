"""The built-in analyzer, used when no AI tagger is configured: facts ffprobe reads from the file, and
markers where ffmpeg sees the picture change.

Tags (names without the `_AI` suffix, which proposals add): the resolution class (8K, 4K, 1440p, 1080p,
720p, 480p), 60fps, the codec when it is HEVC or AV1, and VR for VR proportions or file names. Markers:
"Scene Change" at hard cuts (ffmpeg's scene score above 0.4), or, in a video without cuts, "Chapter"
every marker interval; never more than the most markers per scene (both on the Video analysis settings).

It reads the file on this machine, so Stash's path is translated with the Settings path mappings. A
missing tool, a missing or unreadable file raise AnalysisError (the scene is retried later). Scene
detection decodes the whole video: minutes for a long 4K file, bounded by VIDEO_ANALYSIS_FFMPEG_TIMEOUT_SECONDS.
"""

import json
import math
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

from django.conf import settings

from stash.analysis.results import AnalysisError, DetectedMarker, DetectedTag, VideoResult
from stash.analysis.scenes import vr_by_name, vr_by_resolution

SCENE_THRESHOLD = 0.4
# Cuts closer than this to the previous one (flashes, strobe) are one marker.
MIN_CUT_GAP_SECONDS = 1.0
# Measured facts are certain; VR is inferred from proportions or the name.
FACT_CONFIDENCE = 1.0
VR_CONFIDENCE = 0.9
CUT_CONFIDENCE = 0.8
CHAPTER_CONFIDENCE = 0.7
# Resolution classes by the picture's 16:9-equivalent height, with 5% slack for odd encodes (1920×1072).
RESOLUTIONS = ((4320, "8K"), (2160, "4K"), (1440, "1440p"), (1080, "1080p"), (720, "720p"), (480, "480p"))
CODECS = {"hevc": "HEVC", "av1": "AV1"}
HIGH_FRAME_RATE = 58.0  # 59.94 and 60 fps (and faster) count as 60fps
CANCEL_POLL_SECONDS = 0.5  # a cancelled job stops waiting within this long
_PTS_TIME = re.compile(r"\bpts_time:\s*(-?[0-9.]+)")


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    duration: float
    codec: str
    frame_rate: float


def analyze(scene, *, max_markers: int, marker_interval: float, create_markers: bool, check_cancelled=None):
    """Analyse the scene's primary file on this machine."""
    from stash.connection.config import to_local_path

    path = to_local_path(scene.file_path)
    if not os.path.isfile(path):
        raise AnalysisError(
            f"File not found on this machine: {path} (Stash's path {scene.file_path}); "
            "check the path mappings on the Settings page"
        )
    timeout = settings.VIDEO_ANALYSIS_FFMPEG_TIMEOUT_SECONDS
    facts = probe(path, timeout=timeout, check_cancelled=check_cancelled)
    tags = technical_tags(facts, path)
    markers = []
    if create_markers and max_markers > 0:
        cuts = scene_changes(path, timeout=timeout, check_cancelled=check_cancelled)
        markers = _markers(cuts, facts.duration, max_markers, marker_interval)
    return VideoResult(tags=tags, markers=markers)


def technical_tags(facts: Probe, path: str) -> list[DetectedTag]:
    tags = []
    lines = max(min(facts.width, facts.height), max(facts.width, facts.height) * 9 / 16)
    label = next((name for minimum, name in RESOLUTIONS if lines >= minimum * 0.95), None)
    if label:
        tags.append(DetectedTag(label, FACT_CONFIDENCE))
    if facts.frame_rate >= HIGH_FRAME_RATE:
        tags.append(DetectedTag("60fps", FACT_CONFIDENCE))
    if facts.codec in CODECS:
        tags.append(DetectedTag(CODECS[facts.codec], FACT_CONFIDENCE))
    if vr_by_resolution(facts.width, facts.height) or vr_by_name(path):
        tags.append(DetectedTag("VR", VR_CONFIDENCE))
    return tags


def probe(path: str, *, timeout: float, check_cancelled=None) -> Probe:
    argv = [_tool(settings.FFPROBE_BINARY, "ffprobe"), "-v", "error", "-print_format", "json"]
    argv += ["-show_format", "-show_streams", "-select_streams", "v:0", path]
    code, out, err = _run(argv, timeout=timeout, check_cancelled=check_cancelled, what="ffprobe")
    if code != 0:
        raise AnalysisError(f"ffprobe could not read {path}: {_last_line(err)}")
    try:
        info = json.loads(out)
        stream = info["streams"][0]
    except (ValueError, KeyError, IndexError):
        raise AnalysisError(f"ffprobe found no video stream in {path}") from None
    duration = _float(info.get("format", {}).get("duration")) or _float(stream.get("duration"))
    return Probe(
        width=int(stream.get("width") or 0),
        height=int(stream.get("height") or 0),
        duration=duration,
        codec=str(stream.get("codec_name") or "").lower(),
        frame_rate=_rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate")),
    )


def scene_changes(path: str, *, timeout: float, check_cancelled=None) -> list[float]:
    """Seconds of the frames whose scene score passes SCENE_THRESHOLD (ffmpeg's select + showinfo)."""
    # Scoring a small copy of each frame is as telling and much cheaper than scoring 4K frames.
    graph = f"scale=320:-2,select='gt(scene,{SCENE_THRESHOLD})',showinfo"
    argv = [_tool(settings.FFMPEG_BINARY, "ffmpeg"), "-hide_banner", "-nostats", "-nostdin", "-i", path]
    argv += ["-map", "0:v:0", "-an", "-sn", "-dn", "-vf", graph, "-f", "null", "-"]
    code, _out, err = _run(argv, timeout=timeout, check_cancelled=check_cancelled, what="ffmpeg")
    if code != 0:
        raise AnalysisError(f"ffmpeg could not decode {path}: {_last_line(err)}")
    times = [float(m.group(1)) for line in err.splitlines() if "showinfo" in line if (m := _PTS_TIME.search(line))]
    return sorted(t for t in times if t >= 0)


def _markers(cuts: list[float], duration: float, limit: int, interval: float) -> list[DetectedMarker]:
    kept = []
    for seconds in cuts:
        if not kept or seconds - kept[-1] >= MIN_CUT_GAP_SECONDS:
            kept.append(seconds)
    if kept:
        return [_marker(s, "Scene Change", CUT_CONFIDENCE) for s in _spread(kept, limit)]
    if duration <= 0:
        return []
    # No cuts: a chapter every interval (none at 0 s or at the end), spaced wider when that would be too many.
    step, count = interval, math.ceil(duration / interval) - 1
    if count > limit:
        step, count = duration / (limit + 1), limit
    return [_marker(step * k, "Chapter", CHAPTER_CONFIDENCE) for k in range(1, count + 1)]


def _spread(values: list[float], limit: int) -> list[float]:
    """At most `limit` of the values, evenly chosen across them."""
    if len(values) <= limit:
        return values
    step = len(values) / limit
    return [values[int(i * step)] for i in range(limit)]


def _marker(seconds: float, title: str, confidence: float) -> DetectedMarker:
    return DetectedMarker(seconds=round(seconds, 3), title=title, tags=(title,), confidence=confidence)


def _tool(configured: str, name: str) -> str:
    found = shutil.which(configured)
    if not found:
        raise AnalysisError(
            f"{name} is not installed on this machine (looked for {configured!r}); "
            "install ffmpeg (apt-get install ffmpeg) or configure a video tagger"
        )
    return found


def _run(argv: list[str], *, timeout: float, check_cancelled, what: str) -> tuple[int, str, str]:
    """Run a tool to its end; kill it on timeout or when the job is cancelled."""
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=CANCEL_POLL_SECONDS)
                return proc.returncode, out, err
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise AnalysisError(f"{what} took longer than {timeout:g} s") from None
                if check_cancelled is not None:
                    check_cancelled()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no error output"


def _float(value) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0


def _rate(value) -> float:
    """ffprobe's "30000/1001" as a number (0 when unknown)."""
    try:
        num, _, den = str(value).partition("/")
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0
