"""What Stash changed since the mirror's watermarks: the sync daemon's question, answered with counts.

Scenes, markers, and tags, performers and studios: an entity's edit or deletion does not touch its
scenes' `updated_at` in Stash, so entities are checked on their own (created or edited: stamped after
their watermark; deleted: the mirror holds more of them than Stash lists).

Strictly after the watermark (no overlap window, unlike the sync itself): with an overlap the newest
scene would count as pending forever. A change stamped in the very second of the watermark is picked up
by the next sync's overlap once anything else changes. Near a daylight-saving change Stash's strings do
not sort in time order; then the rows the filter matches are read (ids and stamps) and told by instant."""

from dataclasses import dataclass, field

from stash.models import Performer, Scene, SceneMarker, Studio, SyncCursor, Tag
from stash.sync.stamps import after_value, ambiguous, parse

# Older Stash versions answer at most 1,000 rows a page: a bigger page would end the listing after its first.
STAMP_PAGE_SIZE = 1_000


@dataclass(frozen=True)
class Pending:
    scenes: int  # scenes Stash changed (or, before the first sync, all of them)
    markers: int  # markers changed without their scene
    deletions: bool  # Stash has fewer scenes than the mirror
    first_sync: bool
    # Tags, performers and studios created, edited or deleted: "tag" → how many (only kinds with any).
    entities: dict[str, int] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.scenes or self.markers or self.deletions or self.entities)


def _count(client, operation: str, root: str, variables: dict) -> int:
    result = client.execute(operation, {**variables, "filter": {"page": 1, "per_page": 1}}).get(root) or {}
    return int(result.get("count") or 0)


def _changed_after(client, query: tuple[str, str, str, str, str], watermark: str) -> int:
    """How many rows Stash stamped after `watermark`. `query`: the counting operation, the one that lists
    stamps, the result root, its list field and the filter's variable name."""
    count_operation, stamps_operation, root, key, filter_name = query
    variables = {filter_name: {"updated_at": {"value": after_value(watermark), "modifier": "GREATER_THAN"}}}
    if not ambiguous(watermark):
        return _count(client, count_operation, root, variables)
    # The filter may also match rows stamped before the watermark (in an earlier, larger offset).
    mark, changed, page = parse(watermark), 0, 1
    while True:
        flt = {"page": page, "per_page": STAMP_PAGE_SIZE, "sort": "updated_at", "direction": "ASC"}
        items = (client.execute(stamps_operation, {**variables, "filter": flt}).get(root) or {}).get(key) or []
        changed += sum(1 for item in items if (parse(item.get("updated_at")) or mark) > mark)
        if len(items) < STAMP_PAGE_SIZE:
            return changed
        page += 1


# The mirror model, its cursor name and its query for each entity kind.
ENTITIES = {
    "tag": (Tag, "tags", ("FindTags", "FindTags", "findTags", "tags", "tag_filter")),
    "performer": (
        Performer,
        "performers",
        ("FindPerformers", "FindPerformers", "findPerformers", "performers", "performer_filter"),
    ),
    "studio": (Studio, "studios", ("FindStudios", "FindStudios", "findStudios", "studios", "studio_filter")),
}
SCENES = ("FindSceneIds", "FindSceneStamps", "findScenes", "scenes", "scene_filter")
MARKERS = ("FindSceneMarkerIds", "FindSceneMarkerStamps", "findSceneMarkers", "scene_markers", "scene_marker_filter")


def pending_changes(client) -> Pending:
    marks = dict(SyncCursor.objects.values_list("name", "watermark"))
    scenes_mark, markers_mark = marks.get("scenes", ""), marks.get("markers", "")
    if not scenes_mark:
        return Pending(_count(client, "FindSceneIds", "findScenes", {}), 0, False, True)
    scenes = _changed_after(client, SCENES, scenes_mark)
    markers = _changed_after(client, MARKERS, markers_mark) if markers_mark else 0
    # Deletions leave no trace in updated_at; the counts tell.
    deletions = Scene.objects.count() > _count(client, "FindSceneIds", "findScenes", {}) or (
        SceneMarker.objects.count() > _count(client, "FindSceneMarkerIds", "findSceneMarkers", {})
    )
    return Pending(scenes, markers, deletions, False, _entity_changes(client, marks))


def _entity_changes(client, marks: dict) -> dict[str, int]:
    changes = {}
    for kind, (model, cursor, query) in ENTITIES.items():
        count_operation, _stamps, root = query[:3]
        mark, total, local = marks.get(cursor, ""), _count(client, count_operation, root, {}), model.objects.count()
        # Without a watermark (the mirror had none of them to stamp one) the surplus in Stash is new.
        changed = _changed_after(client, query, mark) if mark else max(0, total - local)
        # A deletion shows as a surplus in the mirror; one hidden by a creation is found by the sync that
        # the creation starts.
        deleted = max(0, local - total)
        if changed + deleted:
            changes[kind] = changed + deleted
    return changes
