"""The AI video tagger's protocol: the AITagger model server that StashHog users already run.

`POST {url}/process_video/` with {"path", "frame_interval", "threshold", "return_confidence": true,
"vr_video"}; one request per scene, answered when the whole video is processed (hence the long timeout).
The answer is {"result": {"video_tag_info": {...}}}, or from older servers {"result": {"json_result":
<the same object, or it as a JSON string>}}. Inside: tags as `video_tags` ({category: [tag]}), else
`timespans` ({category: {tag: [{start, end, confidence}]}}), else a `tags` list; markers as
`tag_timespans` ({category: {tag: [{start, end}]}}), else the `timespans`, else a `markers` list.

Anything short of a readable answer (refused connection, timeout, non-200, malformed JSON) raises
AnalysisError: the scene is retried later rather than marked analysed.
"""

import json
import math
import threading

from stash.analysis.results import AnalysisError, DetectedMarker, DetectedTag, VideoResult
from stash.connection.paths import PathMapper

# The confidence the protocol implies where the tagger gives none (video_tags, tag_timespans).
DEFAULT_CONFIDENCE = 0.7
# A `tags` entry given as an object without a confidence counts for less.
UNSCORED_TAG_CONFIDENCE = 0.5
CONNECT_TIMEOUT = 10.0
CANCEL_POLL_SECONDS = 0.5  # a cancelled job stops waiting within this long


def tagger_path(stash_path: str, path_mappings: list[dict]) -> str:
    """The file as the tagger sees it: Stash's path → this machine's (Stash settings) → the tagger's
    (`path_mappings`, the video analysis settings' [{"local": …, "tagger": …}]). Without mappings the
    tagger gets Stash's own path."""
    from stash.connection.config import to_local_path

    pairs = [{"local": m["local"], "stash": m["tagger"]} for m in path_mappings]
    return PathMapper.from_list(pairs).to_stash(to_local_path(stash_path))


def request_body(path: str, *, frame_interval: float, threshold: float, vr_video: bool) -> dict:
    return {
        "path": path,
        "frame_interval": frame_interval,
        "threshold": threshold,
        "return_confidence": True,
        "vr_video": vr_video,
    }


def process_video(url: str, body: dict, *, timeout: float, check_cancelled=None) -> dict:
    """POST the request and return the decoded answer; AnalysisError with the reason otherwise.

    The request runs on a helper thread so that a cancelled job stops waiting at once (the tagger has
    no way to be told; its answer is then dropped)."""
    import requests

    endpoint = f"{url.rstrip('/')}/process_video/"
    outcome = {}

    def call():
        try:
            outcome["response"] = requests.post(endpoint, json=body, timeout=(min(CONNECT_TIMEOUT, timeout), timeout))
        except Exception as exc:  # handed to the waiting thread below
            outcome["error"] = exc

    thread = threading.Thread(target=call, name="video-tagger-request", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(CANCEL_POLL_SECONDS)
        if check_cancelled is not None:
            check_cancelled()
    error = outcome.get("error")
    if isinstance(error, requests.Timeout):
        raise AnalysisError(f"The video tagger at {url} did not answer within {timeout:g} s")
    if isinstance(error, requests.RequestException):
        raise AnalysisError(f"The video tagger at {url} is unreachable: {error}")
    if error is not None:
        raise error
    response = outcome["response"]
    if response.status_code != 200:
        raise AnalysisError(f"The video tagger answered HTTP {response.status_code}: {response.text[:200].strip()}")
    try:
        return response.json()
    except ValueError:
        raise AnalysisError(f"The video tagger's answer is not valid JSON: {response.text[:200]!r}") from None


def parse_response(payload, *, frame_interval: float) -> VideoResult:
    """The tags and markers in a tagger answer (either form); AnalysisError when it has neither."""
    info = _tag_info(payload)
    return VideoResult(tags=_tags(info, frame_interval), markers=_markers(info, frame_interval))


def analyze(
    scene,
    *,
    url: str,
    path_mappings: list[dict],
    frame_interval: float,
    threshold: float,
    timeout: float,
    check_cancelled=None,
):
    """Ask the tagger about the scene's primary file."""
    body = request_body(
        tagger_path(scene.file_path, path_mappings),
        frame_interval=frame_interval,
        threshold=threshold,
        vr_video=scene.looks_vr,
    )
    payload = process_video(url, body, timeout=timeout, check_cancelled=check_cancelled)
    return parse_response(payload, frame_interval=frame_interval)


# --- reading the answer ------------------------------------------------------------------------------


def _tag_info(payload) -> dict:
    result = payload.get("result") if isinstance(payload, dict) else None
    if not isinstance(result, dict):
        raise AnalysisError("The video tagger's answer has no result object")
    info = result.get("video_tag_info")
    if isinstance(info, dict) and info:
        return info
    legacy = result.get("json_result")
    if isinstance(legacy, str):
        try:
            legacy = json.loads(legacy)
        except ValueError:
            raise AnalysisError("The video tagger's json_result is not valid JSON") from None
    if isinstance(legacy, dict):
        # Some servers wrapped the same object once more.
        nested = legacy.get("video_tag_info")
        return nested if isinstance(nested, dict) else legacy
    if isinstance(info, dict):
        return info  # a modern answer that found nothing
    raise AnalysisError("The video tagger's answer has neither result.video_tag_info nor result.json_result")


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _confidence(frame: dict, default: float) -> float:
    value = _number(frame.get("confidence", frame.get("totalConfidence")))
    return default if value is None else value


def _by_tag(section) -> dict[str, list[dict]]:
    """{category: {tag: [frame]}} flattened to {tag: [valid frames]} (a frame needs a start ≥ 0)."""
    frames = {}
    if not isinstance(section, dict):
        return frames
    for tags in section.values():
        if not isinstance(tags, dict):
            continue
        for tag, items in tags.items():
            if not isinstance(tag, str) or not tag.strip() or not isinstance(items, list):
                continue
            for item in items:
                if isinstance(item, dict) and (start := _number(item.get("start"))) is not None and start >= 0:
                    frames.setdefault(tag.strip(), []).append(item)
    return frames


def _merged_spans(frames: list[dict], frame_interval: float) -> list[tuple[float, float, float]]:
    """Frames of one tag as (start, end, mean confidence) spans: frames at most ~one interval apart join."""
    spans, gap = [], frame_interval * 1.1
    for frame in sorted(frames, key=lambda f: _number(f["start"])):
        start = _number(frame["start"])
        end = max(start, _number(frame.get("end")) or start)
        confidence = _confidence(frame, DEFAULT_CONFIDENCE)
        if spans and start - spans[-1][1] <= gap:
            first, last, scores = spans[-1]
            spans[-1] = (first, max(last, end), [*scores, confidence])
        else:
            spans.append((start, end, [confidence]))
    return [(start, end, sum(scores) / len(scores)) for start, end, scores in spans]


def _tags(info: dict, frame_interval: float) -> list[DetectedTag]:
    video_tags = info.get("video_tags")
    if isinstance(video_tags, dict):
        names = [n for names in video_tags.values() if isinstance(names, list) for n in names]
        return [DetectedTag(n.strip(), DEFAULT_CONFIDENCE) for n in names if isinstance(n, str) and n.strip()]
    timespans = _by_tag(info.get("timespans"))
    if timespans:
        return [
            DetectedTag(tag, sum(_confidence(f, DEFAULT_CONFIDENCE) for f in frames) / len(frames))
            for tag, frames in timespans.items()
        ]
    tags = []
    for item in info.get("tags") if isinstance(info.get("tags"), list) else []:
        if isinstance(item, str) and item.strip():
            tags.append(DetectedTag(item.strip(), DEFAULT_CONFIDENCE))
        elif isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip():
            tags.append(DetectedTag(item["name"].strip(), _confidence(item, UNSCORED_TAG_CONFIDENCE)))
    return tags


def _markers(info: dict, frame_interval: float) -> list[DetectedMarker]:
    tag_timespans = _by_tag(info.get("tag_timespans"))
    if tag_timespans:
        return [
            _marker(tag, _number(f["start"]), _number(f.get("end")), _confidence(f, DEFAULT_CONFIDENCE))
            for tag, frames in tag_timespans.items()
            for f in frames
        ]
    timespans = _by_tag(info.get("timespans"))
    if timespans:
        return [
            _marker(tag, start, end, confidence)
            for tag, frames in timespans.items()
            for start, end, confidence in _merged_spans(frames, frame_interval)
        ]
    markers = []
    for item in info.get("markers") if isinstance(info.get("markers"), list) else []:
        if not isinstance(item, dict):
            continue
        seconds = _number(item.get("time", item.get("seconds")))
        tags = [t.strip() for t in item.get("tags") or [] if isinstance(t, str) and t.strip()]
        title = item.get("title").strip() if isinstance(item.get("title"), str) else ""
        if seconds is None or seconds < 0 or not (title or tags):
            continue
        end = _number(item.get("end_time", item.get("end_seconds")))
        markers.append(
            DetectedMarker(
                seconds=seconds,
                title=title or tags[0],
                tags=tuple(tags or [title]),
                confidence=_confidence(item, DEFAULT_CONFIDENCE),
                end_seconds=end if end is not None and end > seconds else None,
            )
        )
    return markers


def _marker(tag: str, start: float, end: float | None, confidence: float) -> DetectedMarker:
    # Stash wants an end after the start; a one-frame detection is a point marker.
    return DetectedMarker(start, tag, (tag,), confidence, end if end is not None and end > start else None)
