"""Sync against the Stash emulator over HTTP: full and incremental runs, markers, deletions, watermarks."""

from datetime import timedelta

import pytest

from stash.connection.config import get_client
from stash.models import Performer, Scene, SceneMarker, Studio, SyncCursor, Tag
from stash.sync.run import SyncOptions, SyncRun, sync_scene_ids
from stash.sync.stamps import parse

pytestmark = pytest.mark.django_db(transaction=True)


def sync(full=False, **options):
    return SyncRun(get_client(), SyncOptions(full=full, page_size=50, **options)).run()


def watermark(name: str) -> str:
    return SyncCursor.objects.get(name=name).watermark


def test_a_full_sync_mirrors_the_library(stash_emulator):
    store = stash_emulator.store
    report = sync(full=True)
    assert Scene.objects.count() == len(store.scenes) == report.counts["scenes_synced"]
    assert Tag.objects.count() == len(store.tags)
    assert Performer.objects.count() == len(store.performers)
    assert Studio.objects.count() == len(store.studios)
    assert SceneMarker.objects.count() == len(store.markers)
    # Field by field for one scene, including what StashHog never synced (organized, rating).
    remote = next(s for s in store.scenes.values() if s.performer_ids and s.tag_ids and s.files)
    local = Scene.objects.get(pk=remote.id)
    assert (local.title, local.organized, local.rating100) == (remote.title, remote.organized, remote.rating100)
    assert local.studio_id == remote.studio_id
    assert set(local.performers.values_list("id", flat=True)) == set(remote.performer_ids)
    assert set(local.tags.values_list("id", flat=True)) == set(remote.tag_ids)
    assert list(local.files.values_list("path", flat=True)) == [f.path for f in remote.files]
    # Tag parents and studio parents.
    child_tag = next(t for t in store.tags.values() if t.parent_ids)
    assert set(Tag.objects.get(pk=child_tag.id).parents.values_list("id", flat=True)) == set(child_tag.parent_ids)
    child_studio = next((s for s in store.studios.values() if s.parent_id), None)
    if child_studio:
        assert Studio.objects.get(pk=child_studio.id).parent_id == child_studio.parent_id


def test_the_watermark_is_stashs_own_string_in_its_own_zone(stash_emulator):
    sync(full=True)
    newest = max(stash_emulator.store.scenes.values(), key=lambda s: s.updated_at)
    assert watermark("scenes") == newest.updated_at
    assert watermark("scenes").endswith(("-08:00", "-07:00"))


def in_overlap(rows, name: str) -> set[int]:
    """Rows an incremental run re-reads anyway: changed in the 60 s overlap window before the watermark."""
    window_start = parse(watermark(name)) - timedelta(seconds=60)
    return {row.id for row in rows if parse(row.updated_at) > window_start}


def test_an_incremental_sync_fetches_only_what_changed(stash_emulator):
    sync(full=True)
    in_window = in_overlap(stash_emulator.store.scenes.values(), "scenes")
    stash_emulator.advance_clock(3600)
    for scene_id in (5, 17, 42):
        stash_emulator.control(f"scenes/{scene_id}", {"title": f"Edited {scene_id}"})
    report = sync()
    assert report.mode == "incremental"
    assert report.counts["scenes_synced"] == len(in_window | {5, 17, 42})
    assert len(in_window) < 5
    assert Scene.objects.get(pk=17).title == "Edited 17"
    before = watermark("scenes")
    assert sync().counts["scenes_synced"] == 3  # the overlap window re-reads the newest second's edits
    assert watermark("scenes") == before


def test_marker_edits_in_stash_are_synced_and_reset_generated(stash_emulator):
    sync(full=True)
    scene = next(s for s in stash_emulator.store.scenes.values() if s.marker_ids)
    Scene.objects.update(generated=True)
    scene_updated = scene.updated_at
    stash_emulator.advance_clock(3600)
    marker_id = scene.marker_ids[0]
    in_window = in_overlap(stash_emulator.store.markers.values(), "markers") - {marker_id}
    stash_emulator.control(f"markers/{marker_id}", {"title": "Renamed in Stash", "seconds": 1.5})
    assert stash_emulator.store.scenes[scene.id].updated_at == scene_updated  # Stash does not bump the scene
    report = sync()
    assert report.counts["markers_synced"] == 1 + len(in_window)
    assert SceneMarker.objects.get(pk=marker_id).title == "Renamed in Stash"
    assert Scene.objects.get(pk=scene.id).generated is False
    assert Scene.objects.filter(generated=False).count() == 1


def test_a_marker_created_in_stash_arrives(stash_emulator):
    sync(full=True)
    scene = next(iter(stash_emulator.store.scenes.values()))
    tag_id = next(iter(stash_emulator.store.tags))
    stash_emulator.advance_clock(3600)
    created = stash_emulator.control(
        "markers", {"scene_id": scene.id, "title": "New", "seconds": 9.0, "primary_tag_id": tag_id}
    )
    sync()
    assert SceneMarker.objects.get(pk=created["id"]).scene_id == scene.id


def test_deletions_in_stash_disappear_locally(stash_emulator):
    store = stash_emulator.store
    unused_tag = stash_emulator.control("tags", {"name": "Unused"})
    sync(full=True)
    marker_id = next(iter(store.markers))
    scene_id = next(s.id for s in store.scenes.values() if marker_id not in s.marker_ids)
    tag_id = unused_tag["id"]  # Stash refuses to delete a tag that is some marker's primary tag
    performer_id = max(store.performers)
    studio_id = max(store.studios)
    for kind, pk in (
        ("markers", marker_id),
        ("scenes", scene_id),
        ("tags", tag_id),
        ("performers", performer_id),
        ("studios", studio_id),
    ):
        stash_emulator.control(f"{kind}/{pk}/delete")
    report = sync()
    assert not SceneMarker.objects.filter(pk=marker_id).exists()
    assert not Scene.objects.filter(pk=scene_id).exists()
    assert not Tag.objects.filter(pk=tag_id).exists()
    assert not Performer.objects.filter(pk=performer_id).exists()
    assert not Studio.objects.filter(pk=studio_id).exists()
    assert report.counts["scenes_deleted"] == 1
    assert Scene.objects.count() == len(store.scenes)
    assert SceneMarker.objects.count() == len(store.markers)


def test_a_targeted_sync_never_moves_the_watermark(stash_emulator):
    sync(full=True)
    before = {c.name: c.watermark for c in SyncCursor.objects.all()}
    in_window = in_overlap(stash_emulator.store.scenes.values(), "scenes")
    stash_emulator.advance_clock(3600)
    stash_emulator.control("scenes/3", {"title": "Edited 3"})
    stash_emulator.control("scenes/4", {"title": "Edited 4"})
    report = sync_scene_ids(get_client(), [3, 999_999])
    assert Scene.objects.get(pk=3).title == "Edited 3"
    assert report.counts["scenes_synced"] == 1
    assert {c.name: c.watermark for c in SyncCursor.objects.all()} == before
    # The incremental run still finds both edits, the one sync_scenes already brought in included.
    assert sync().counts["scenes_synced"] == len(in_window | {3, 4})


def test_a_sync_that_fails_half_way_keeps_the_previous_watermark(stash_emulator):
    sync(full=True)
    before = watermark("scenes")
    stash_emulator.advance_clock(3600)
    for scene_id in range(1, 120):
        stash_emulator.control(f"scenes/{scene_id}", {"details": "edited"})
    calls = {"pages": 0}

    def stop_after_a_page():
        calls["pages"] += 1
        if calls["pages"] > 4:
            stash_emulator.store.api_key = "now-stash-wants-a-key"

    with pytest.raises(Exception) as failure:
        sync(check_cancelled=stop_after_a_page)
    assert "API key" in str(failure.value)
    assert watermark("scenes") == before
    assert Scene.objects.filter(details="edited").exists()  # pages before the failure are kept


def test_scenes_created_in_stash_mid_run_are_not_lost(stash_emulator):
    """Edits while a run pages shift the pages; the id check afterwards fetches what was skipped."""
    sync(full=True)
    stash_emulator.advance_clock(3600)
    for scene_id in range(1, 101):
        stash_emulator.control(f"scenes/{scene_id}", {"details": "first edit"})
    edited_mid_run = {"done": False}

    def edit_during_paging():
        if not edited_mid_run["done"]:
            edited_mid_run["done"] = True
            stash_emulator.advance_clock(1)
            # Moves scene 1 (already on the first page) to the end: everything after it shifts by one.
            stash_emulator.control("scenes/1", {"details": "second edit"})

    sync(check_cancelled=edit_during_paging)
    assert set(Scene.objects.filter(details="first edit").values_list("id", flat=True)) == set(range(2, 101))
    assert Scene.objects.get(pk=1).details == "second edit"


def test_the_cursors_move_together_and_only_a_full_run_stamps_its_time(stash_emulator):
    sync()  # a first incremental run creates the cursors without a full-sync time
    assert set(SyncCursor.objects.values_list("name", flat=True)) == {
        "tags",
        "performers",
        "studios",
        "scenes",
        "markers",
    }
    assert not SyncCursor.objects.filter(last_full_sync_at__isnull=False).exists()
    sync(full=True)
    full_at = set(SyncCursor.objects.values_list("last_full_sync_at", flat=True))
    assert len(full_at) == 1 and None not in full_at
    before = {c.name: c.updated_at for c in SyncCursor.objects.all()}
    stash_emulator.store.update("scene", 1, title="Edited after the full run")
    report = sync()
    assert set(SyncCursor.objects.values_list("last_full_sync_at", flat=True)) == full_at  # kept
    assert watermark("scenes") == stash_emulator.store.scenes[1].updated_at == report.watermarks["scenes"]
    assert all(c.updated_at > before[c.name] for c in SyncCursor.objects.all())


def test_deletions_are_found_in_a_library_of_more_than_a_thousand_scenes(monkeypatch, settings):
    # Stash answers at most 1,000 rows per page: the id list behind the deletion check must page at that
    # size, or its first page looks like the last, the list comes back incomplete and nothing is deleted.
    from stash.emulator.seed import seed_library
    from stash.emulator.server import EmulatorServer
    from stash.emulator.store import Store
    from stash.scenes.generation import stash_ids

    store = Store(zone="America/Los_Angeles")
    seed_library(store, scenes=1_300, seed=11)
    server = EmulatorServer(store)
    monkeypatch.setenv("STASH_URL", server.start())
    monkeypatch.delenv("STASH_API_KEY", raising=False)
    settings.STASH_URL, settings.STASH_API_KEY = server.url, ""
    try:
        SyncRun(get_client(), SyncOptions(full=True, page_size=500)).run()
        assert Scene.objects.count() == len(store.scenes) > 1_000
        gone = sorted(store.scenes)[:2] + [max(store.scenes)]
        for pk in gone:
            store.delete("scene", pk)
        report = SyncRun(get_client(), SyncOptions(full=False, page_size=500)).run()
        assert report.counts["scenes_deleted"] == 3
        assert not Scene.objects.filter(pk__in=gone).exists() and Scene.objects.count() == len(store.scenes)
        # The generation check lists ids the same way: every scene, not the first thousand.
        ids, count = stash_ids(get_client())
        assert len(ids) == count == len(store.scenes)
    finally:
        server.stop()
