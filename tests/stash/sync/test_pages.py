"""Writing Stash answers into the mirror: bulk writes with a fixed query count, tolerant of nulls."""

import pytest
from django.db import connection

from stash.models import Performer, Scene, SceneFile, SceneMarker, Studio, Tag
from stash.sync import pages


def scene_data(pk: int, **overrides) -> dict:
    data = {
        "id": str(pk),
        "title": f"Scene {pk}",
        "code": "C1",
        "details": "Details",
        "director": "Dir",
        "urls": ["https://example.com/1"],
        "date": "2024-02-03",
        "rating100": 80,
        "organized": True,
        "created_at": "2026-01-05T10:00:00-08:00",
        "updated_at": "2026-01-05T11:00:00-08:00",
        "paths": {"screenshot": "http://stash/scene/1/screenshot"},
        "studio": {"id": "7", "name": "Studio Seven"},
        "performers": [{"id": "3", "name": "Ann"}, {"id": "4", "name": "Bo"}],
        "tags": [{"id": "11", "name": "Outdoor"}],
        "scene_markers": [
            {
                "id": str(pk * 10),
                "title": "Intro",
                "seconds": 12.5,
                "end_seconds": None,
                "created_at": "2026-01-05T10:00:00-08:00",
                "updated_at": "2026-01-05T10:00:00-08:00",
                "primary_tag": {"id": "12", "name": "Intro_AI"},
                "tags": [{"id": "11", "name": "Outdoor"}],
            }
        ],
        "files": [
            {
                "id": str(pk * 100),
                "path": f"/data/videos/{pk}.mp4",
                "basename": f"{pk}.mp4",
                "size": 123456789,
                "duration": 600.5,
                "video_codec": "h264",
                "audio_codec": "aac",
                "width": 1920,
                "height": 1080,
                "frame_rate": 29.97,
                "bit_rate": 5000000,
                "format": "mp4",
                "mod_time": "2026-01-01T00:00:00-08:00",
                "fingerprints": [{"type": "phash", "value": "abc"}, {"type": "oshash", "value": "def"}],
            }
        ],
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_a_page_is_mirrored_with_every_field():
    result = pages.write_scene_page(pages.ScenePage([scene_data(1)]))
    assert result == {"scenes": 1, "created": 1, "markers_changed": 0}
    scene = Scene.objects.get(pk=1)
    assert (scene.title, scene.rating100, scene.organized, str(scene.date)) == ("Scene 1", 80, True, "2024-02-03")
    assert scene.urls == ["https://example.com/1"]
    assert scene.studio.name == "Studio Seven"
    assert sorted(scene.performers.values_list("name", flat=True)) == ["Ann", "Bo"]
    assert list(scene.tags.values_list("name", flat=True)) == ["Outdoor"]
    file = SceneFile.objects.get(scene=scene)
    assert (file.width, file.height, file.fingerprints["phash"], file.position) == (1920, 1080, "abc", 0)
    marker = SceneMarker.objects.get(scene=scene)
    assert (marker.seconds, marker.primary_tag.name) == (12.5, "Intro_AI")
    assert list(marker.tags.values_list("id", flat=True)) == [11]
    assert scene.stash_updated_at.isoformat() == "2026-01-05T19:00:00+00:00"


@pytest.mark.django_db
def test_nulls_and_missing_fields_do_not_crash():
    ugly = {
        "id": "2",
        "title": None,
        "urls": None,
        "date": "not a date",
        "rating100": "high",
        "studio": None,
        "performers": None,
        "tags": [None, {"id": None}, {"id": "5"}],
        "scene_markers": [{"id": "9", "seconds": None, "primary_tag": None, "tags": None}],
        "files": [{"id": "20", "path": None, "fingerprints": None, "width": None}],
        "updated_at": None,
    }
    pages.write_scene_page(pages.ScenePage([ugly, {"title": "no id"}, None]))
    scene = Scene.objects.get(pk=2)
    assert (scene.title, scene.date, scene.rating100, scene.studio_id) == ("", None, None, None)
    assert list(scene.tags.values_list("id", flat=True)) == [5]
    assert Tag.objects.get(pk=5).name == "Tag 5"  # a placeholder until the tag sync names it
    assert SceneMarker.objects.get(pk=9).seconds == 0.0
    assert Scene.objects.count() == 1


@pytest.mark.django_db
def test_a_resync_replaces_relations_files_and_markers():
    pages.write_scene_page(pages.ScenePage([scene_data(1)]))
    Scene.objects.filter(pk=1).update(generated=True, video_analyzed=True)
    changed = scene_data(
        1,
        title="Renamed",
        performers=[{"id": "4", "name": "Bo"}],
        tags=[],
        scene_markers=[],
        files=[{"id": "101", "path": "/data/videos/moved.mp4", "fingerprints": []}],
    )
    pages.write_scene_page(pages.ScenePage([changed]))
    scene = Scene.objects.get(pk=1)
    assert scene.title == "Renamed"
    assert list(scene.performers.values_list("id", flat=True)) == [4]
    assert scene.tags.count() == 0
    assert list(scene.files.values_list("path", flat=True)) == ["/data/videos/moved.mp4"]
    assert not SceneMarker.objects.exists()
    # Local flags survive a resync; only a marker change resets `generated`.
    assert scene.video_analyzed is True
    assert scene.generated is False


@pytest.mark.django_db
def test_unchanged_markers_keep_generated_and_edited_markers_reset_it():
    pages.write_scene_page(pages.ScenePage([scene_data(1)]))
    Scene.objects.filter(pk=1).update(generated=True)
    pages.write_scene_page(pages.ScenePage([scene_data(1, title="Only the title changed")]))
    assert Scene.objects.get(pk=1).generated is True
    edited = scene_data(1)
    edited["scene_markers"][0].update(seconds=30.0, updated_at="2026-01-06T10:00:00-08:00")
    result = pages.write_scene_page(pages.ScenePage([edited]))
    assert result["markers_changed"] == 1
    assert Scene.objects.get(pk=1).generated is False


@pytest.mark.django_db
def test_a_file_moved_to_another_scene_follows_it():
    pages.write_scene_page(pages.ScenePage([scene_data(1)]))
    merged = scene_data(2, files=[scene_data(1)["files"][0]], scene_markers=[])
    pages.write_scene_page(pages.ScenePage([merged]))
    assert SceneFile.objects.get(pk=100).scene_id == 2


@pytest.mark.django_db(transaction=True)  # committed pages, as in a sync: staging tables are made once
def test_page_writes_take_the_same_number_of_queries_whatever_the_page_size(django_assert_num_queries):
    # Entities exist and scene 1 was merged once (a new page is inserted without the staging tables, which
    # the first merge creates): a steady-state page.
    pages.write_scene_page(pages.ScenePage([scene_data(1)]))
    pages.write_scene_page(pages.ScenePage([scene_data(1)]))
    small = [scene_data(pk) for pk in range(1, 3)]
    large = [scene_data(pk) for pk in range(1, 201)]
    expected = QUERIES_PER_PAGE[connection.vendor]
    with django_assert_num_queries(expected):
        pages.write_scene_page(pages.ScenePage(small))
    # SQLite caps the parameters of one statement, so there a big page is split into several inserts.
    if connection.vendor == "postgresql":
        with django_assert_num_queries(expected):
            pages.write_scene_page(pages.ScenePage(large))
    else:
        pages.write_scene_page(pages.ScenePage(large))
    assert Scene.objects.count() == 200
    assert SceneMarker.objects.count() == 200


@pytest.mark.django_db(transaction=True)
def test_a_page_of_new_scenes_is_inserted_with_the_same_few_queries_whatever_its_size(django_assert_num_queries):
    pages.write_scene_page(pages.ScenePage([scene_data(1)]))  # entities exist
    expected = NEW_PAGE_QUERIES[connection.vendor]
    with django_assert_num_queries(expected):
        result = pages.write_scene_page(pages.ScenePage([scene_data(pk) for pk in range(2, 4)]))
    assert result == {"scenes": 2, "created": 2, "markers_changed": 0}
    if connection.vendor == "postgresql":
        with django_assert_num_queries(expected):
            pages.write_scene_page(pages.ScenePage([scene_data(pk) for pk in range(4, 204)]))
    else:
        pages.write_scene_page(pages.ScenePage([scene_data(pk) for pk in range(4, 204)]))
    assert Scene.objects.count() == 203
    assert SceneFile.objects.count() == SceneMarker.objects.count() == 203
    scene = Scene.objects.get(pk=150)
    assert sorted(scene.performers.values_list("id", flat=True)) == [3, 4]
    assert list(scene.markers.get().tags.values_list("id", flat=True)) == [11]
    assert (scene.generated, scene.video_analyzed, scene.analyzed) == (False, False, False)


# The transaction (2), the existing scenes (1), the three placeholder writes (PostgreSQL: an INSERT …
# SELECT and its clean-up each, 6; SQLite: 3), and the inserts in their own savepoint (2): on PostgreSQL
# by COPY, which Django's query capture does not see; on SQLite one bulk insert for scenes, files,
# markers and each link table (6).
NEW_PAGE_QUERIES = {"sqlite": 14, "postgresql": 11}


@pytest.mark.django_db
def test_a_new_scene_takes_a_marker_that_moved_from_another_scene():
    pages.write_scene_page(pages.ScenePage([scene_data(1)]))
    moved = scene_data(2, files=[], scene_markers=scene_data(1)["scene_markers"])
    result = pages.write_scene_page(pages.ScenePage([moved]))
    assert result["created"] == 1
    assert SceneMarker.objects.get(pk=10).scene_id == 2
    assert list(SceneMarker.objects.get(pk=10).tags.values_list("id", flat=True)) == [11]
    assert Scene.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_page_whose_entities_the_mirror_holds_writes_no_placeholders(django_assert_num_queries):
    pages.write_scene_page(pages.ScenePage([scene_data(1)]))
    pages.write_scene_page(pages.ScenePage([scene_data(1)]))  # merged once: the staging tables exist
    known = {model: set(model.objects.values_list("id", flat=True)) for model in (Studio, Performer, Tag)}
    # Without the three placeholder writes (PostgreSQL: their INSERT … SELECT and clean-up each).
    expected = QUERIES_PER_PAGE[connection.vendor] - (6 if connection.vendor == "postgresql" else 3)
    with django_assert_num_queries(expected):
        pages.write_scene_page(pages.ScenePage([scene_data(pk) for pk in range(1, 3)]), known)
    assert Scene.objects.count() == 2


# Both: savepoint + release, the existing scenes, the mirror's markers of those scenes, the stale-file
# delete, and the delete of the old links of performers, tags and marker tags (8). Then the writes of 3
# placeholder tables, scenes, files and markers: on SQLite one bulk insert each plus one per link table
# (17 in all); on PostgreSQL an INSERT … SELECT from a staging table and its clean-up each, after COPY
# statements that Django's query capture does not see (20). Markers Stash dropped add their delete.
QUERIES_PER_PAGE = {"sqlite": 17, "postgresql": 20}


@pytest.mark.django_db
def test_entities_and_parents():
    from stash.sync import convert

    pages.write_entities(Studio, [convert.studio({"id": "2", "name": "Child", "parent_studio": {"id": "1"}})])
    pages.write_entities(Studio, [convert.studio({"id": "1", "name": "Parent"})])
    pages.write_entities(Tag, [convert.tag({"id": "5", "name": "Kiss_AI"}), convert.tag({"id": "6", "name": "Act"})])
    pages.set_parents({2: 1}, {5: {6, 999}})
    assert Studio.objects.get(pk=2).parent_id == 1
    assert list(Tag.objects.get(pk=5).parents.values_list("id", flat=True)) == [6]
    pages.write_entities(Performer, [convert.performer({"id": "3", "name": "Ann", "rating100": 250})])
    assert Performer.objects.get(pk=3).rating100 is None


@pytest.mark.django_db
def test_refreshed_statistics_let_the_planner_see_the_new_rows():
    pages.write_scene_page(pages.ScenePage([scene_data(pk) for pk in range(1, 4)]))
    pages.refresh_statistics()  # on SQLite: nothing to do, and no error
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN ('stash_scene', 'stash_scenemarker', "
            "'stash_scene_tags')"
        )
        counts = dict(cursor.fetchall())
    # Never analysed, a table says -1 (unknown); analysed, it says how many rows it holds.
    assert counts == {
        "stash_scene": 3,
        "stash_scenemarker": SceneMarker.objects.count(),
        "stash_scene_tags": Scene.tags.through.objects.count(),
    }
