"""Which scenes Stash has really generated, from what Stash reports as missing.

The schema lets us detect three generated artefacts per scene: the cover (`is_missing: "cover"`), the
perceptual hash of every file (`is_missing: "phash"`), and, for interactive scenes, the funscript heatmap
whose speed Stash computes while generating it (`interactive: true`, `interactive_speed` null). Previews,
sprites and marker media cannot be detected: Stash returns their URLs whether the files exist or not.
`generated` therefore means "none of the detectable artefacts is missing", and it is set only from such
a check, never because a Stash job finished.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from stash.models import Scene
from stash.sync import convert

# Older Stash versions answer at most 1,000 rows a page: a bigger page would end the listing after its first.
ID_PAGE_SIZE = 1_000
ARTEFACT_FILTERS = {
    "cover": {"is_missing": "cover"},
    "phash": {"is_missing": "phash"},
    "heatmap": {"interactive": True, "interactive_speed": {"value": 0, "modifier": "IS_NULL"}},
}


def stash_ids(client, scene_filter: dict | None = None) -> tuple[set[int], int]:
    """All scene ids Stash lists for a filter (paged), with the count Stash reported."""
    ids: set[int] = set()
    page, count = 1, 0
    while True:
        variables = {"filter": {"page": page, "per_page": ID_PAGE_SIZE, "sort": "id", "direction": "ASC"}}
        if scene_filter:
            variables["scene_filter"] = scene_filter
        result = client.execute("FindSceneIds", variables).get("findScenes") or {}
        items = result.get("scenes") or []
        count = int(result.get("count") or 0)
        ids.update(i for i in (convert.ref_id(item) for item in items) if i is not None)
        if len(items) < ID_PAGE_SIZE:
            return ids, count
        page += 1


def missing_artefacts(client, include_heatmaps: bool) -> dict[str, set[int]]:
    names = ["cover", "phash"] + (["heatmap"] if include_heatmaps else [])
    return {name: stash_ids(client, ARTEFACT_FILTERS[name])[0] for name in names}


def record_generation_state(checked: set[int], needing: set[int], started: datetime | None = None) -> dict[str, int]:
    """Set `generated` for the `checked` scenes: false where an artefact is missing, true elsewhere.

    `started`: when the generation (or check) began. A scene whose markers a sync saw change after that
    stays false: Stash may have generated before the new markers existed. Any other re-read by a sync
    meanwhile (a cover Stash saved bumps the scene's updated_at) does not matter."""
    ok = sorted(checked - needing)
    bad = sorted(checked & needing)
    marked_true = marked_false = 0
    with transaction.atomic():
        for start in range(0, len(bad), 5000):
            marked_false += Scene.objects.filter(id__in=bad[start : start + 5000], generated=True).update(
                generated=False
            )
        for start in range(0, len(ok), 5000):
            rows = Scene.objects.filter(id__in=ok[start : start + 5000], generated=False)
            if started is not None:
                rows = rows.filter(Q(markers_changed_at__isnull=True) | Q(markers_changed_at__lt=started))
            marked_true += rows.update(generated=True)
    return {"marked_generated": marked_true, "marked_not_generated": marked_false}


def scenes_need_generation() -> bool:
    """The generation daemon's cheap question; served by the partial index on generated=false."""
    return Scene.objects.filter(generated=False).exists()


# Up to this many scenes are sent to Stash by id; beyond it Stash walks the library (it skips what exists).
MAX_SCENE_IDS = 1000


def scenes_to_generate() -> tuple[int, list[int]]:
    """(how many scenes have `generated=false`, their ids) — no ids when there are more than MAX_SCENE_IDS:
    generation then covers the whole library."""
    ungenerated = Scene.objects.filter(generated=False)
    ids = list(ungenerated.order_by("id").values_list("id", flat=True)[: MAX_SCENE_IDS + 1])
    if len(ids) <= MAX_SCENE_IDS:
        return len(ids), ids
    return ungenerated.count(), []
