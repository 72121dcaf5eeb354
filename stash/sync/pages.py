"""Write one page of Stash objects into the mirror with a fixed number of queries.

A page is upserted in bulk (`bulk_create(update_conflicts=True)`) and its relation rows are rebuilt
by id: the query count does not depend on the page size (tests pin it). Each call runs in one
transaction, so a page is either fully written or not at all.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from orchestrator import wakeups
from stash.models import Performer, Scene, SceneFile, SceneMarker, Studio, Tag
from stash.sync import bulk, convert
from stash.sync.bulk import psycopg_integrity_error


def _upsert(model, rows: list):
    bulk.upsert(model, rows, convert.fields_of(model))


def _placeholders(model, named_refs: dict[int, str]):
    """Rows for entities a page mentions but the mirror lacks (created in Stash after the entity sync).

    Existing rows are left untouched; the next entity sync fills in the details."""
    rows = [{"id": pk, "name": (name or f"{model.__name__} {pk}")[:255]} for pk, name in named_refs.items()]
    bulk.upsert(model, rows, None)


class ScenePage:
    """What a page of Stash scenes turns into, before it is written."""

    def __init__(self, scenes_data: list[dict]):
        self.scenes: list[dict] = []
        self.files: list[dict] = []
        self.markers: list[dict] = []
        self.performer_links: set[tuple[int, int]] = set()
        self.tag_links: set[tuple[int, int]] = set()
        self.marker_tag_links: set[tuple[int, int]] = set()
        self.studios: dict[int, str] = {}
        self.performers: dict[int, str] = {}
        self.tags: dict[int, str] = {}
        self.max_updated_at = ""
        self.marker_max_updated_at = ""
        # The instants of those two strings (what `stamps.later` would parse again for every row).
        self._max_stamp = self._marker_max_stamp = None
        self.inserted = False  # set by write_scene_page: written by plain inserts, nothing was merged
        for data in scenes_data:
            if isinstance(data, dict) and convert.ref_id(data) is not None:
                self._add(data)

    @property
    def ids(self) -> list[int]:
        return [s["id"] for s in self.scenes]

    def _add(self, data: dict):
        row = convert.scene(data)
        self.scenes.append(row)
        stamp = row["stash_updated_at"]  # as stamps.later: the first of equal instants stays
        if stamp is not None and (self._max_stamp is None or stamp > self._max_stamp):
            self._max_stamp, self.max_updated_at = stamp, data["updated_at"]
        scene_id = row["id"]
        if row["studio_id"]:
            self.studios[row["studio_id"]] = convert.text((data.get("studio") or {}).get("name"))
        for pk, name in convert.named_refs(data.get("performers")):
            self.performers[pk] = name
            self.performer_links.add((scene_id, pk))
        for pk, name in convert.named_refs(data.get("tags")):
            self.tags[pk] = name
            self.tag_links.add((scene_id, pk))
        seen_files = set()
        for position, file_data in enumerate(convert.refs(data.get("files"))):
            file_row = convert.scene_file(file_data, scene_id, position)
            if file_row["id"] not in seen_files:
                seen_files.add(file_row["id"])
                self.files.append(file_row)
        for marker_data in convert.refs(data.get("scene_markers")):
            self.add_marker(marker_data, scene_id)

    def add_marker(self, data: dict, scene_id: int):
        row = convert.marker(data, scene_id)
        self.markers.append(row)
        stamp = row["stash_updated_at"]
        if stamp is not None and (self._marker_max_stamp is None or stamp > self._marker_max_stamp):
            self._marker_max_stamp, self.marker_max_updated_at = stamp, data["updated_at"]
        primary = data.get("primary_tag")
        if row["primary_tag_id"]:
            self.tags[row["primary_tag_id"]] = convert.text((primary or {}).get("name"))
        for pk, name in convert.named_refs(data.get("tags")):
            self.tags[pk] = name
            self.marker_tag_links.add((row["id"], pk))


def changed_marker_scenes(markers: list[dict], stored: dict | None = None) -> set[int]:
    """Scenes whose markers are new or edited compared with the mirror (their previews need generating).

    `stored`: the mirror's markers as marker_state() returns them, when the caller already read them."""
    if not markers:
        return set()
    if stored is None:
        stored = marker_state(SceneMarker.objects.filter(id__any=[m["id"] for m in markers]))
    return {m["scene_id"] for m in markers if stored.get(m["id"]) != _marker_key(m)}


def marker_state(markers) -> dict[int, tuple]:
    columns = ("id", "scene_id", "stash_updated_at", "seconds", "end_seconds", "primary_tag_id")
    rows = markers.order_by().values_list(*columns)
    return {pk: tuple(rest) for pk, *rest in rows}


def _marker_key(m: dict) -> tuple:
    return (m["scene_id"], m["stash_updated_at"], m["seconds"], m["end_seconds"], m["primary_tag_id"])


def write_scene_page(page: ScenePage, known: dict | None = None) -> dict:
    """Upsert a page of scenes with their files, relations and markers. Returns counts.

    `known`: model → ids of studios, performers and tags the mirror is known to hold; placeholders are
    written only for the others (and added to it). Without it, every referenced entity is ensured."""
    ids = page.ids
    if not ids:
        return {"scenes": 0, "created": 0, "markers_changed": 0}
    with transaction.atomic():
        existing = set(Scene.objects.filter(id__any=ids).order_by().values_list("id", flat=True))
        for model, named in ((Studio, page.studios), (Performer, page.performers), (Tag, page.tags)):
            _placeholders(model, _unknown(named, known, model))
        page.inserted = not existing and _insert_new(page)
        # New scenes have nothing to regenerate: their markers were never generated.
        marker_scenes = set() if page.inserted else _merge(page, ids)
        # A scene whose markers changed needs its marker previews generated again.
        regenerate = marker_scenes & existing
        if regenerate:
            _markers_changed(regenerate)
        # New scenes are neither generated nor analysed, and changed markers need generating again.
        wakeups.announce(wakeups.SCENES)
    return {"scenes": len(ids), "created": len(set(ids) - existing), "markers_changed": len(regenerate)}


def _insert_new(page: ScenePage) -> bool:
    """Write a page of scenes the mirror does not hold by plain inserts (a first sync's pages): nothing of
    theirs can be in the mirror (files, links and markers all point at a scene), so there is nothing to
    read, delete or merge. False, with nothing written, when a row exists after all (a file or marker
    that moved from another scene, a scene written meanwhile): the page is then merged instead."""
    try:
        with transaction.atomic():
            bulk.insert(Scene, page.scenes)
            bulk.insert(SceneFile, page.files)
            bulk.link(Scene.performers.through, "scene", "performer", page.performer_links)
            bulk.link(Scene.tags.through, "scene", "tag", page.tag_links)
            bulk.insert(SceneMarker, page.markers)
            bulk.link(SceneMarker.tags.through, "scenemarker", "tag", page.marker_tag_links)
    except (IntegrityError, psycopg_integrity_error()):
        return False
    return True


def _merge(page: ScenePage, ids: list[int]) -> set[int]:
    """Upsert a page whose scenes may be in the mirror; returns the scenes whose markers changed."""
    # The mirror's markers of these scenes: to tell new and edited ones, and those Stash dropped.
    stored_markers = marker_state(SceneMarker.objects.filter(scene_id__any=ids))
    marker_scenes = changed_marker_scenes(page.markers, stored_markers)
    listed = {m["id"] for m in page.markers}
    vanished = [pk for pk in stored_markers if pk not in listed]
    # Markers Stash no longer lists also count as a change of their scene's markers.
    marker_scenes |= {stored_markers[pk][0] for pk in vanished}
    _upsert(Scene, page.scenes)
    _upsert(SceneFile, page.files)
    SceneFile.objects.filter(scene_id__any=ids).exclude(id__any=[f["id"] for f in page.files]).delete()
    bulk.relink(Scene.performers.through, "scene", "performer", ids, page.performer_links)
    bulk.relink(Scene.tags.through, "scene", "tag", ids, page.tag_links)
    if vanished:
        SceneMarker.objects.filter(id__any=vanished).delete()
    _upsert(SceneMarker, page.markers)
    marker_ids = [m["id"] for m in page.markers]
    bulk.relink(SceneMarker.tags.through, "scenemarker", "tag", marker_ids, page.marker_tag_links)
    return marker_scenes


def _markers_changed(scene_ids: set[int]):
    """The scenes' markers changed: their previews need generating, and a generation already under way
    may have missed them (stash.scenes.generation reads `markers_changed_at`)."""
    Scene.objects.filter(id__any=scene_ids).update(generated=False, markers_changed_at=timezone.now())


def _unknown(named: dict[int, str], known: dict | None, model) -> dict[int, str]:
    if known is None:
        return named
    ids = known.setdefault(model, set())
    missing = {pk: name for pk, name in named.items() if pk not in ids}
    # Known from now on only if this page commits; a rolled-back page fails the whole run anyway.
    ids.update(missing)
    return missing


def write_marker_page(markers_data: list[dict]) -> dict:
    """Upsert markers found by the marker reconciliation (edits that did not touch their scene).

    Markers of scenes the mirror does not have yet are left for that scene's own sync."""
    rows = [m for m in markers_data if isinstance(m, dict) and convert.ref_id(m) is not None]
    scene_ids = {convert.ref_id(m.get("scene")) for m in rows} - {None}
    with transaction.atomic():
        known_scenes = set(Scene.objects.filter(id__any=scene_ids).order_by().values_list("id", flat=True))
        page = ScenePage([])
        for data in rows:
            scene_id = convert.ref_id(data.get("scene"))
            if scene_id in known_scenes:
                page.add_marker(data, scene_id)
        changed = changed_marker_scenes(page.markers)
        _placeholders(Tag, page.tags)
        _upsert(SceneMarker, page.markers)
        marker_ids = [m["id"] for m in page.markers]
        bulk.relink(SceneMarker.tags.through, "scenemarker", "tag", marker_ids, page.marker_tag_links)
        if changed:
            _markers_changed(changed)
            wakeups.announce(wakeups.SCENES)
    return {"markers": len(page.markers), "scenes_changed": len(changed), "max_updated_at": page.marker_max_updated_at}


def write_entities(model, rows: list):
    """Upsert one page of tags, performers or studios. Studio parents and tag parents are set once the
    whole run has been written (`set_parents`), since a parent may arrive on a later page."""
    if model is Studio:
        rows = [{**row, "parent_id": None} for row in rows]
    with transaction.atomic():
        _upsert(model, rows)


def set_parents(studio_parents: dict[int, int | None], tag_parents: dict[int, set[int]]):
    """Point studios at their parent and rebuild the parent links of the given tags.

    Parents the mirror does not hold (deleted meanwhile) are dropped rather than failing the run."""
    with transaction.atomic():
        if studio_parents:
            wanted = {p for p in studio_parents.values() if p}
            existing = set(Studio.objects.filter(id__in=wanted).values_list("id", flat=True))
            updates = [Studio(id=pk, parent_id=p if p in existing else None) for pk, p in studio_parents.items()]
            Studio.objects.bulk_update(updates, ["parent_id"], batch_size=2000)
        if tag_parents:
            wanted = set().union(*tag_parents.values())
            existing = set(Tag.objects.filter(id__in=wanted).values_list("id", flat=True))
            links = {
                (child, parent) for child, parents in tag_parents.items() for parent in parents if parent in existing
            }
            bulk.relink(Tag.parents.through, "from_tag", "to_tag", list(tag_parents), links)


def refresh_statistics():
    """Fresh planner statistics for the tables a scene page writes (see bulk.refresh_statistics)."""
    bulk.refresh_statistics([Scene, SceneFile, SceneMarker])
