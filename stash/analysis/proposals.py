"""From an analyzer's findings to plan changes (the shapes of the plan change catalogue).

- a tag: tags/add, proposed "<Tag>_AI" (the suffix never doubled), current = the scene's tag names;
- a marker: markers/add, proposed {"seconds", "title": "<Tag>_AI", "tags": ["<Tag>_AI"], "end_seconds"?};
- for the AI tagger, the status tags AITagger users filter on: tags/remove ["AI_TagMe"] when the scene has
  it, tags/add ["AI_Tagged"] when it lacks it (a failed analysis proposes nothing: it is retried).

Findings below the confidence threshold are dropped; so are tags the scene already has (any case) and
markers it already has (same title, within half a second), and repeats within the findings.
"""

from stash.analysis.results import VideoResult
from stash.analysis.scenes import MARKER_TOLERANCE_SECONDS, SceneInput

AI_SUFFIX = "_AI"
TAG_ME = "AI_TagMe"
TAGGED = "AI_Tagged"
STATUS_CONFIDENCE = 1.0


def with_suffix(name: str) -> str:
    name = name.strip()
    return name if name.upper().endswith(AI_SUFFIX) else name + AI_SUFFIX


def propose(
    scene: SceneInput, result: VideoResult, *, confidence_threshold: float, create_markers: bool, status_tags: bool
) -> list[dict]:
    """The change dicts (field, action, current_value, proposed_value, confidence) for one scene."""
    changes = _tag_changes(scene, result, confidence_threshold)
    if create_markers:
        changes += _marker_changes(scene, result, confidence_threshold)
    if status_tags:
        changes += _status_changes(scene)
    return changes


def _change(field: str, action: str, current, proposed, confidence: float) -> dict:
    return {
        "field": field,
        "action": action,
        "current_value": current,
        "proposed_value": proposed,
        "confidence": round(min(1.0, max(0.0, float(confidence))), 4),
    }


def _tag_changes(scene: SceneInput, result: VideoResult, threshold: float) -> list[dict]:
    current = sorted(scene.tag_names, key=str.casefold)
    seen = {name.casefold() for name in current}
    changes = []
    # Best first, so a tag found twice is proposed once with its higher confidence.
    for tag in sorted(result.tags, key=lambda t: -t.confidence):
        name = with_suffix(tag.name)
        if tag.confidence < threshold or name.casefold() in seen:
            continue
        seen.add(name.casefold())
        changes.append(_change("tags", "add", current, name, tag.confidence))
    return changes


def _marker_changes(scene: SceneInput, result: VideoResult, threshold: float) -> list[dict]:
    proposed: list[tuple[float, str]] = []
    changes = []
    for marker in sorted(result.markers, key=lambda m: (m.seconds, -m.confidence)):
        title = with_suffix(marker.title)
        if marker.confidence < threshold or scene.has_marker(marker.seconds, title):
            continue
        key = title.casefold()
        if any(abs(s - marker.seconds) <= MARKER_TOLERANCE_SECONDS and t == key for s, t in proposed):
            continue
        proposed.append((marker.seconds, key))
        tags = list(dict.fromkeys(with_suffix(t) for t in marker.tags)) or [title]
        value = {"seconds": round(marker.seconds, 3), "title": title, "tags": tags}
        if marker.end_seconds is not None:
            value["end_seconds"] = round(marker.end_seconds, 3)
        changes.append(_change("markers", "add", None, value, marker.confidence))
    return changes


def _status_changes(scene: SceneInput) -> list[dict]:
    changes = []
    if scene.has_tag(TAG_ME):
        changes.append(_change("tags", "remove", [TAG_ME], None, STATUS_CONFIDENCE))
    if not scene.has_tag(TAGGED):
        changes.append(_change("tags", "add", None, [TAGGED], STATUS_CONFIDENCE))
    return changes
