"""What Stash changed since the mirror's watermarks: the sync daemon's question, answered with counts.

Strictly after the watermark (no overlap window, unlike the sync itself): with an overlap the newest
scene would count as pending forever. A change stamped in the very second of the watermark is picked up
by the next sync's overlap once anything else changes."""

from dataclasses import dataclass

from stash.models import Scene, SceneMarker, SyncCursor


@dataclass(frozen=True)
class Pending:
    scenes: int  # scenes Stash changed (or, before the first sync, all of them)
    markers: int  # markers changed without their scene
    deletions: bool  # Stash has fewer scenes than the mirror
    first_sync: bool

    @property
    def any(self) -> bool:
        return bool(self.scenes or self.markers or self.deletions)


def _count(client, operation: str, root: str, variables: dict) -> int:
    result = client.execute(operation, {**variables, "filter": {"page": 1, "per_page": 1}}).get(root) or {}
    return int(result.get("count") or 0)


def pending_changes(client) -> Pending:
    marks = dict(SyncCursor.objects.values_list("name", "watermark"))
    scenes_mark, markers_mark = marks.get("scenes", ""), marks.get("markers", "")
    if not scenes_mark:
        return Pending(_count(client, "FindSceneIds", "findScenes", {}), 0, False, True)
    after = {"updated_at": {"value": scenes_mark, "modifier": "GREATER_THAN"}}
    scenes = _count(client, "FindSceneIds", "findScenes", {"scene_filter": after})
    markers = 0
    if markers_mark:
        after_marker = {"updated_at": {"value": markers_mark, "modifier": "GREATER_THAN"}}
        markers = _count(client, "FindSceneMarkerIds", "findSceneMarkers", {"scene_marker_filter": after_marker})
    # Deletions leave no trace in updated_at; the counts tell.
    deletions = Scene.objects.count() > _count(client, "FindSceneIds", "findScenes", {}) or (
        SceneMarker.objects.count() > _count(client, "FindSceneMarkerIds", "findSceneMarkers", {})
    )
    return Pending(scenes, markers, deletions, False)
