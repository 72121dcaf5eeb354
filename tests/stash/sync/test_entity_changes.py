"""Tags, performers and studios changed in Stash: their edits and deletions do not touch their scenes'
`updated_at` (as in Stash), yet the pending check sees them and one incremental sync shows them."""

import pytest

from stash.connection.config import get_client
from stash.models import Performer, Scene, Studio, Tag
from stash.sync.pending import pending_changes
from stash.sync.run import SyncOptions, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)


def sync(full=False):
    return SyncRun(get_client(), SyncOptions(full=full, page_size=50)).run()


def scene_stamps(store) -> dict[int, str]:
    return {s.id: s.updated_at for s in store.scenes.values()}


def test_a_deleted_and_a_renamed_tag_are_pending_and_one_sync_shows_them(stash_emulator):
    store = stash_emulator.store
    gone = stash_emulator.control("tags", {"name": "Short-lived"})["id"]
    for scene_id in (3, 4):
        stash_emulator.control(f"scenes/{scene_id}", {"tag_ids": [*store.scenes[scene_id].tag_ids, gone]})
    renamed = next(tag_id for scene in store.scenes.values() for tag_id in scene.tag_ids if tag_id != gone)
    sync(full=True)
    assert Scene.objects.filter(tags__id=gone).count() == 2
    before = scene_stamps(store)
    stash_emulator.advance_clock(600)
    stash_emulator.control(f"tags/{gone}/delete")
    stash_emulator.control(f"tags/{renamed}", {"name": "Renamed in Stash"})
    assert scene_stamps(store) == before  # Stash does not touch the scenes
    pending = pending_changes(get_client())
    assert (pending.scenes, pending.entities) == (0, {"tag": 2})
    assert pending.any
    sync()
    assert not Tag.objects.filter(pk=gone).exists()
    assert not Scene.objects.filter(tags__id=gone).exists()
    tagged = Scene.objects.filter(tags__id=renamed).first()
    assert "Renamed in Stash" in {t.name for t in tagged.tags.all()}
    assert not pending_changes(get_client()).any


def test_created_performers_and_deleted_studios_are_pending(stash_emulator):
    store = stash_emulator.store
    sync(full=True)
    studio = next(s.studio_id for s in store.scenes.values() if s.studio_id)
    stash_emulator.advance_clock(600)
    stash_emulator.control("performers", {"name": "New Performer"})
    stash_emulator.control(f"studios/{studio}/delete")
    assert pending_changes(get_client()).entities == {"performer": 1, "studio": 1}
    sync()
    assert Performer.objects.filter(name="New Performer").exists()
    assert not Studio.objects.filter(pk=studio).exists()
    assert not Scene.objects.filter(studio_id=studio).exists()
    assert not pending_changes(get_client()).any
