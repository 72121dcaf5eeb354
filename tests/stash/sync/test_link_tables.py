"""The mirror's link tables without foreign-key constraints (stash/migrations/0007): what the database no
longer enforces, deletions still do, and lookups by owner still have an index."""

import pytest
from django.db import connection

from stash.models import Performer, Scene, SceneMarker, Tag

pytestmark = pytest.mark.django_db

LINKS = {
    "stash_scene_performers": "scene_id",
    "stash_scene_tags": "scene_id",
    "stash_scenemarker_tags": "scenemarker_id",
}


def constraints(table: str) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


@pytest.mark.parametrize("table", LINKS)
def test_a_link_table_keeps_its_unique_pair_and_loses_the_redundant_index(table):
    found = constraints(table).values()
    owner = LINKS[table]
    assert any(c["unique"] and c["columns"][0] == owner and len(c["columns"]) == 2 for c in found)
    assert not any(c["index"] and not c["unique"] and c["columns"] == [owner] for c in found)
    # The other column keeps its own index (links by tag or performer).
    assert any(c["index"] and len(c["columns"]) == 1 and c["columns"] != [owner] for c in found)
    if connection.vendor == "postgresql":
        assert not any(c["foreign_key"] for c in found)


def test_deleting_entities_or_scenes_still_removes_their_links():
    tag, other = Tag.objects.create(id=1, name="Gone"), Tag.objects.create(id=2, name="Kept")
    anna = Performer.objects.create(id=1, name="Anna")
    scene = Scene.objects.create(id=1, title="One")
    scene.tags.set([tag, other])
    scene.performers.set([anna])
    marker = SceneMarker.objects.create(id=1, scene=scene, seconds=1.0)
    marker.tags.set([tag, other])
    Tag.objects.filter(id=1).delete()  # as the sync deletes what Stash no longer has
    assert list(scene.tags.values_list("id", flat=True)) == [2]
    assert list(marker.tags.values_list("id", flat=True)) == [2]
    Scene.objects.filter(id=1).delete()
    through = (Scene.tags.through, Scene.performers.through, SceneMarker.tags.through)
    assert [model.objects.count() for model in through] == [0, 0, 0]
