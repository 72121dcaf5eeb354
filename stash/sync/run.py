"""A sync run: tags, performers and studios, then scenes, then markers; full or incremental.

Incremental runs fetch what Stash changed after the stored watermark (minus an overlap window, since
Stash's times have one-second resolution), sorted by `updated_at` ascending; near a daylight-saving change
the filter reaches back by the change (`stamps.after_value`), since Stash compares its strings. Two things `updated_at`
alone would miss are handled explicitly:
- rows skipped because an edit during the run shifted the pages: after paging, the ids Stash reports for
  the same filter are compared with the ids seen, and the missing ones are fetched by id;
- deletions: when the mirror holds more rows than Stash reports, the full id list is fetched and the
  rows Stash no longer has are deleted (only from a complete id list, never from a partial one).
Marker edits do not change their scene's `updated_at` in Stash, so markers have their own watermark.
Watermarks move only when a whole full or incremental run succeeded.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.utils import timezone

from stash.connection.errors import StashGraphQLError
from stash.models import Performer, Scene, SceneMarker, Studio, SyncCursor, Tag
from stash.sync import bulk, convert, pages
from stash.sync.stamps import after_value, later

# Operation, result field and list field for each kind of object.
ENTITY_QUERIES = {
    Tag: ("FindTags", "findTags", "tags", "tag_filter"),
    Performer: ("FindPerformers", "findPerformers", "performers", "performer_filter"),
    Studio: ("FindStudios", "findStudios", "studios", "studio_filter"),
}
ENTITY_CONVERTERS = {Tag: convert.tag, Performer: convert.performer, Studio: convert.studio}
CURSOR_NAMES = {Tag: "tags", Performer: "performers", Studio: "studios", Scene: "scenes", SceneMarker: "markers"}
# Older Stash versions answer at most 1,000 rows a page (their maxPerPage; the emulator too): a larger page
# would make the id list's first page look like its last, and the deletion check would give up on any
# library over 1,000 rows.
ID_PAGE_SIZE = 1_000
# Table statistics are refreshed as a run fills the mirror by merged pages (inserted pages need none, see
# _write_scenes): after its first 5,000 new scenes, then each time it has created about as many again as
# it had by then (at 5k, 15k, 35k, 75k, ...), none in runs that create fewer than 5,000.
ANALYZE_MIN_NEW_SCENES = 5000
# Progress is recorded (a job row update pushed live to open pages) at most this often, not per page.
PROGRESS_INTERVAL = 0.5


def _noop(*args, **kwargs):
    return None


@dataclass
class SyncOptions:
    full: bool = False
    page_size: int = 500
    overlap_seconds: int = 60
    progress: Callable = _noop  # progress(percent, message, processed=None, total=None)
    check_cancelled: Callable = _noop  # raises to stop the run between pages


@dataclass
class SyncReport:
    mode: str
    counts: dict = field(default_factory=dict)
    watermarks: dict = field(default_factory=dict)

    def add(self, key: str, amount: int):
        self.counts[key] = self.counts.get(key, 0) + amount


def _updated_since(since: str) -> dict | None:
    return {"updated_at": {"value": since, "modifier": "GREATER_THAN"}} if since else None


class SyncRun:
    def __init__(self, client, options: SyncOptions):
        self.client = client
        self.opt = options
        self.report = SyncReport(mode="full" if options.full else "incremental")
        self.cursors = {c.name: c for c in SyncCursor.objects.all()}
        # The newest updated_at of the scenes (and their markers) written by this run.
        self.max_seen = self.max_marker_seen = ""
        self.known = None  # entity ids the mirror holds, read when the first scene page is written
        self.created_since_analyze = 0
        self.analyze_after = ANALYZE_MIN_NEW_SCENES
        self._progress_at = float("-inf")

    def progress_now(self, *args, **kwargs):
        """Progress for a page: passed on when PROGRESS_INTERVAL has gone by since the last one."""
        now = time.monotonic()
        if now - self._progress_at >= PROGRESS_INTERVAL:
            self._progress_at = now
            self.opt.progress(*args, **kwargs)

    # -- helpers -----------------------------------------------------------------------------------

    def watermark(self, model) -> str:
        if self.opt.full:
            return ""
        cursor = self.cursors.get(CURSOR_NAMES[model])
        return cursor.watermark if cursor else ""

    def since(self, model) -> str:
        mark = self.watermark(model)
        return after_value(mark, self.opt.overlap_seconds) if mark else ""

    def fetch_pages(self, operation, root, key, variables, page_size, prepare=None):
        """Yield (count, items) per page, sorted by updated_at ascending, until a short page; with
        `prepare`, (count, prepare(items)).

        The next page is fetched (and prepared) on a helper thread while the caller writes this one, so
        Stash's time to answer, our Python work on a page and the database's work overlap: the writer
        waits on PostgreSQL without the GIL."""

        def fetch(page: int) -> tuple[int, object, int]:
            flt = {"page": page, "per_page": page_size, "sort": "updated_at", "direction": "ASC"}
            result = self.client.execute(operation, {**variables, "filter": flt}).get(root) or {}
            items = result.get(key) or []
            return int(result.get("count") or 0), prepare(items) if prepare else items, len(items)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stash-prefetch") as pool:
            page, upcoming = 1, pool.submit(fetch, 1)
            while True:
                self.opt.check_cancelled()
                count, prepared, length = upcoming.result()
                full = length >= page_size
                if full:
                    upcoming = pool.submit(fetch, page + 1)
                yield count, prepared
                if not full:
                    return
                page += 1

    def all_ids(self, operation, root, key, variables=None) -> set[int] | None:
        """Every id Stash lists for the filter, or None when the answer was incomplete."""
        ids: set[int] = set()
        count = 0
        for page_count, items in self.fetch_pages(operation, root, key, variables or {}, ID_PAGE_SIZE):
            count = page_count
            ids.update(i for i in (convert.ref_id(item) for item in items) if i is not None)
        return ids if len(ids) >= count else None

    def count(self, operation, root, variables=None) -> int:
        flt = {"page": 1, "per_page": 1}
        result = self.client.execute(operation, {**(variables or {}), "filter": flt}).get(root) or {}
        return int(result.get("count") or 0)

    def newest(self, operation, root, key) -> str:
        """The newest `updated_at` Stash holds right now, as Stash wrote it."""
        flt = {"page": 1, "per_page": 1, "sort": "updated_at", "direction": "DESC"}
        items = (self.client.execute(operation, {"filter": flt}).get(root) or {}).get(key) or []
        return (items[0].get("updated_at") or "") if items and isinstance(items[0], dict) else ""

    def delete_missing(self, model, operation, root, key) -> int:
        """Delete mirror rows Stash no longer has; checked cheaply by count, then by the full id list."""
        if model.objects.count() <= self.count(operation, root):
            return 0
        ids = self.all_ids(operation, root, key)
        if ids is None:
            return 0
        local = set(model.objects.values_list("id", flat=True))
        gone = list(local - ids)
        for start in range(0, len(gone), 5000):
            model.objects.filter(id__in=gone[start : start + 5000]).delete()
        return len(gone)

    # -- the steps ---------------------------------------------------------------------------------

    def run(self) -> SyncReport:
        self.opt.progress(0, f"Starting {self.report.mode} sync")
        new_marks = {}
        # Page commits need not wait for the disk: the watermarks' commit below does, and it makes every
        # earlier one durable with it; a crash before it loses only pages the next run reads again.
        with bulk.deferred_flush():
            for model in (Tag, Performer, Studio):
                new_marks[model] = self.sync_entities(model)
            new_marks[Scene], new_marks[SceneMarker] = self.sync_scenes()
            new_marks[SceneMarker] = later(new_marks[SceneMarker], self.sync_markers())
        self.save_watermarks(new_marks)
        c = self.report.counts
        self.opt.progress(
            100,
            f"Sync completed: {c.get('scenes_synced', 0)} scenes synced, {c.get('scenes_deleted', 0)} deleted",
        )
        return self.report

    def sync_entities(self, model) -> str:
        operation, root, key, filter_name = ENTITY_QUERIES[model]
        label = CURSOR_NAMES[model]
        since = self.since(model)
        variables = {filter_name: _updated_since(since)} if since else {}
        newest = self.watermark(model)
        studio_parents: dict[int, int | None] = {}
        tag_parents: dict[int, set[int]] = {}
        synced = 0
        for _count, items in self.fetch_pages(operation, root, key, variables, 1000):
            rows = []
            for data in items:
                if not isinstance(data, dict) or convert.ref_id(data) is None:
                    continue
                row = ENTITY_CONVERTERS[model](data)
                rows.append(row)
                newest = later(newest, data.get("updated_at") or "")
                if model is Studio:
                    studio_parents[row["id"]] = row["parent_id"]
                elif model is Tag:
                    tag_parents[row["id"]] = {p for p in map(convert.ref_id, data.get("parents") or []) if p}
            pages.write_entities(model, rows)
            synced += len(rows)
            self.progress_now(None, f"Synced {synced} {label}")
        pages.set_parents(studio_parents, tag_parents)
        self.report.add(f"{label}_synced", synced)
        self.report.add(f"{label}_deleted", self.delete_missing(model, operation, root, key))
        return newest

    def sync_scenes(self) -> tuple[str, str]:
        since = self.since(Scene)
        scene_filter = _updated_since(since)
        variables = {"scene_filter": scene_filter} if scene_filter else {}
        newest_scene, newest_marker = self.watermark(Scene), self.watermark(SceneMarker)
        if self.opt.full:
            # A full run reads markers through their scenes; a marker edited after its scene was read is
            # at least as new as Stash's newest marker now, so the next incremental run finds it.
            newest_scene = self.newest("FindScenes", "findScenes", "scenes")
            newest_marker = self.newest("FindSceneMarkers", "findSceneMarkers", "scene_markers")
        seen: set[int] = set()
        total = 0
        scene_pages = self.fetch_pages(
            "FindScenes", "findScenes", "scenes", variables, self.opt.page_size, prepare=pages.ScenePage
        )
        for total, page in scene_pages:
            self._write_scenes(page, seen)
            self.progress_now(
                5 + 85 * min(1.0, len(seen) / max(total, 1)),
                f"Synced {len(seen)}/{total} scenes",
                processed=len(seen),
                total=total,
            )
        # An edit during paging moves a row to the end and shifts the others back: one may have been
        # skipped. Then fewer distinct rows were seen than the last page counted; ask Stash which ids
        # match and fetch the missing ones.
        if len(seen) < total:
            matching = self.all_ids("FindSceneIds", "findScenes", "scenes", variables)
            if matching:
                self.sync_ids(sorted(matching - seen), seen)
        self.report.add("scenes_deleted", self.delete_missing(Scene, "FindSceneIds", "findScenes", "scenes"))
        return later(newest_scene, self.max_seen), later(newest_marker, self.max_marker_seen)

    def _write_scenes(self, page: pages.ScenePage, seen: set[int]):
        if self.known is None:
            # Entities were synced just before: read their ids once instead of ensuring them per page.
            self.known = {m: set(m.objects.values_list("id", flat=True)) for m in (Tag, Performer, Studio)}
        written = pages.write_scene_page(page, self.known)
        seen.update(page.ids)
        self.max_seen = later(self.max_seen, page.max_updated_at)
        self.max_marker_seen = later(self.max_marker_seen, page.marker_max_updated_at)
        self.report.add("scenes_synced", written["scenes"])
        self.report.add("scenes_created", written["created"])
        if not page.inserted:
            # Only merged pages read the mirror by lists of scene ids (markers, files, links), the lookups
            # that go wrong without statistics; an inserted page only probes the primary key, which the
            # planner uses anyway. So a first sync, all inserts, runs no ANALYZE.
            self.created_since_analyze += written["created"]
        if self.created_since_analyze >= self.analyze_after:
            pages.refresh_statistics()
            self.analyze_after = max(ANALYZE_MIN_NEW_SCENES, self.created_since_analyze + self.analyze_after)
            self.created_since_analyze = 0
        self.report.add("scenes_marked_ungenerated", written["markers_changed"])

    def sync_ids(self, ids: list[int], seen: set[int]):
        """Fetch and write the given scenes by id; ids Stash does not return were deleted there."""
        for start in range(0, len(ids), self.opt.page_size):
            self.opt.check_cancelled()
            chunk = ids[start : start + self.opt.page_size]
            items = self._fetch_by_ids(chunk)
            self._write_scenes(pages.ScenePage(items), seen)
            returned = {convert.ref_id(item) for item in items if isinstance(item, dict)}
            gone = [i for i in chunk if i not in returned]
            if gone:
                Scene.objects.filter(id__in=gone).delete()
                self.report.add("scenes_deleted", len(gone))

    def _fetch_by_ids(self, ids: list[int]) -> list:
        """Scenes by id. Stash refuses a whole `ids` query when one of them no longer exists, so then
        each id is asked for alone, with a filter that simply matches nothing for a deleted scene."""
        try:
            result = self.client.execute("FindScenes", {"ids": [str(i) for i in ids], "filter": {"per_page": -1}})
            return (result.get("findScenes") or {}).get("scenes") or []
        except StashGraphQLError as error:
            if "not found" not in str(error):
                raise
        items = []
        for scene_id in ids:
            self.opt.check_cancelled()
            variables = {"scene_filter": {"id": {"value": scene_id, "modifier": "EQUALS"}}, "filter": {"per_page": 1}}
            items += (self.client.execute("FindScenes", variables).get("findScenes") or {}).get("scenes") or []
        return items

    def sync_markers(self) -> str:
        """Marker edits made in Stash since the marker watermark (they do not touch the scene)."""
        since = self.since(SceneMarker)
        newest = ""
        if since:
            variables = {"scene_marker_filter": _updated_since(since)}
            for _count, items in self.fetch_pages(
                "FindSceneMarkers", "findSceneMarkers", "scene_markers", variables, 1000
            ):
                written = pages.write_marker_page(items)
                newest = later(newest, written["max_updated_at"])
                self.report.add("markers_synced", written["markers"])
                self.report.add("scenes_marked_ungenerated", written["scenes_changed"])
        deleted = self.delete_missing(SceneMarker, "FindSceneMarkerIds", "findSceneMarkers", "scene_markers")
        self.report.add("markers_deleted", deleted)
        return newest

    def save_watermarks(self, marks: dict):
        """All five cursors in one upsert: one statement, and they move together or not at all."""
        now = timezone.now()
        full_at = {"last_full_sync_at": now} if self.opt.full else {}
        cursors = [SyncCursor(name=CURSOR_NAMES[model], watermark=mark, **full_at) for model, mark in marks.items()]
        SyncCursor.objects.bulk_create(
            cursors,
            update_conflicts=True,
            unique_fields=["name"],
            update_fields=["watermark", "updated_at", *full_at],
        )
        for cursor in cursors:
            self.report.watermarks[cursor.name] = cursor.watermark


def sync_scene_ids(client, ids: list[int], page_size: int = 500, check_cancelled: Callable = _noop) -> SyncReport:
    """A targeted sync of the given scenes. It never moves any watermark."""
    run = SyncRun(client, SyncOptions(page_size=page_size, check_cancelled=check_cancelled))
    run.report.mode = "scenes"
    run.sync_ids(list(dict.fromkeys(ids)), set())
    return run.report
