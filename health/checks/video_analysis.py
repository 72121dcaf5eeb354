"""Video analysis: the AI video tagger answers at its URL, or, with the built-in analyzer, ffprobe and
ffmpeg are there (their versions shown)."""

import shutil
import subprocess

from django.conf import settings

from health.checks import Check, Result, error, ok
from orchestrator.paths import video_analysis_settings_path
from stash.analysis.config import TaggerUnreachable, check_tagger, effective_settings

TOOL_TIMEOUT_SECONDS = 5.0


def run() -> Result:
    config = effective_settings()
    if config.tagger_url:
        try:
            status = check_tagger(config.tagger_url)
        except TaggerUnreachable as exc:
            return error(
                f"{exc}. Analysis jobs fail and scenes wait to be retried.",
                f"Start the tagger, or correct its URL on {video_analysis_settings_path()} (empty: the built-in "
                "analyzer).",
                url=config.tagger_url,
            )
        return ok(f"The AI video tagger at {config.tagger_url} answers (HTTP {status}).", url=config.tagger_url)
    versions, missing = {}, []
    for name, configured in (("ffprobe", settings.FFPROBE_BINARY), ("ffmpeg", settings.FFMPEG_BINARY)):
        version = _version(configured)
        if version is None:
            missing.append(f"{name} ({configured})")
        else:
            versions[name] = version
    if missing:
        return error(
            f"The built-in analyzer needs ffprobe and ffmpeg; not found or not working: {', '.join(missing)}.",
            "Install ffmpeg (apt-get install ffmpeg), set FFPROBE_BINARY/FFMPEG_BINARY, or set a tagger URL on "
            f"{video_analysis_settings_path()}.",
            **versions,
        )
    return ok(f"Built-in analyzer: ffprobe {versions['ffprobe']}, ffmpeg {versions['ffmpeg']}.", **versions)


def _version(binary: str) -> str | None:
    path = shutil.which(binary)
    if not path:
        return None
    try:
        done = subprocess.run(
            [path, "-version"], capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    first = (done.stdout.splitlines() or [""])[0]  # "ffprobe version 5.1.6-0+deb12u1 Copyright …"
    parts = first.split()
    return parts[2] if len(parts) > 2 and parts[1] == "version" else first[:60] or "?"


CHECK = Check(
    "video_analysis",
    "Video analysis",
    "The AI video tagger answers, or ffprobe/ffmpeg are installed for the built-in analyzer.",
    run,
)
