"""The Stash mirror in the admin: searchable and read-only, except the three local workflow flags."""

import pytest

from stash.models import Performer, Scene, SceneFile, SceneMarker, Studio, SyncCursor, Tag


@pytest.fixture
def admin(client, user):
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


@pytest.fixture
def library(transactional_db):
    parent = Studio.objects.create(id=1, name="Network")
    studio = Studio.objects.create(id=2, name="Label", parent=parent)
    outdoor = Tag.objects.create(id=1, name="Outdoor")
    beach = Tag.objects.create(id=2, name="Beach")
    beach.parents.set([outdoor])
    anna = Performer.objects.create(id=1, name="Anna")
    scene = Scene.objects.create(id=42, title="Beach Day", studio=studio, generated=True, video_analyzed=True)
    scene.tags.set([beach])
    scene.performers.set([anna])
    SceneFile.objects.create(id=5, scene=scene, path="/lib/beach-day.mp4", size=2048, fingerprints={"phash": "abc"})
    marker = SceneMarker.objects.create(id=9, scene=scene, title="Wave", seconds=12, primary_tag=outdoor)
    marker.tags.set([beach])
    Scene.objects.create(id=43, title="City Night")
    SyncCursor.objects.create(name="scenes", watermark="2024-06-01T10:00:00Z")
    return scene


def test_every_mirror_model_has_a_changelist_and_a_view_page(admin, library):
    pages = {
        "scene": 42,
        "scenefile": 5,
        "scenemarker": 9,
        "tag": 2,
        "performer": 1,
        "studio": 2,
        "synccursor": SyncCursor.objects.get().pk,
    }
    for model, pk in pages.items():
        assert admin.get(f"/admin/stash/{model}/").status_code == 200, model
        assert admin.get(f"/admin/stash/{model}/{pk}/change/").status_code == 200, model
        assert admin.get(f"/admin/stash/{model}/add/").status_code == 403, model  # mirror rows come from sync


def test_scene_changelist_filters_on_flags_and_searches_title_path_and_id(admin, library):
    def rows(query):
        html = admin.get(f"/admin/stash/scene/{query}").content.decode()
        return {pk for pk in (42, 43) if f'href="/admin/stash/scene/{pk}/change/' in html}

    assert rows("") == {42, 43}
    assert rows("?generated__exact=1") == {42}
    assert rows("?video_analyzed__exact=0") == {43}
    assert rows("?q=city") == {43}
    assert rows("?q=beach-day.mp4") == {42}
    assert rows("?q=43") == {43}


def test_scene_form_edits_only_the_flags(admin, library):
    url = "/admin/stash/scene/42/change/"
    html = admin.get(url).content.decode()
    for flag in ["generated", "video_analyzed", "analyzed"]:
        assert f'name="{flag}"' in html
    for mirrored in ["title", "studio", "tags", "performers", "organized", "details"]:
        assert f'name="{mirrored}"' not in html, mirrored
    assert "/lib/beach-day.mp4" in html and "Wave" in html  # files and markers inline, read-only
    assert 'href="/scenes/42/"' in html  # "view on site" opens the Scenes page
    data = {
        "title": "Changed by hand",
        "organized": "on",
        "video_analyzed": "on",  # generated unticked: reset
        "files-TOTAL_FORMS": "1",
        "files-INITIAL_FORMS": "1",
        "markers-TOTAL_FORMS": "1",
        "markers-INITIAL_FORMS": "1",
    }
    response = admin.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    scene = Scene.objects.get(pk=42)
    assert (scene.generated, scene.video_analyzed, scene.analyzed) == (False, True, False)
    assert scene.title == "Beach Day" and scene.organized is False


def test_reset_actions_clear_one_flag_on_the_selected_scenes(admin, library):
    Scene.objects.filter(pk=43).update(generated=True, analyzed=True)
    response = admin.post(
        "/admin/stash/scene/", {"action": "reset_generated", "_selected_action": ["42", "43"]}, follow=True
    )
    assert "Reset “generated” on 2 scene(s)." in response.content.decode()
    assert list(Scene.objects.order_by("pk").values_list("generated", "video_analyzed", "analyzed")) == [
        (False, True, False),
        (False, False, True),
    ]


def test_tag_page_shows_parents_and_children_without_a_select(admin, library):
    html = admin.get("/admin/stash/tag/").content.decode()
    assert "Outdoor" in html  # Beach's parent column
    html = admin.get("/admin/stash/tag/1/change/").content.decode()
    assert "Beach" in html  # Outdoor's children
    assert "<select" not in html.split('id="content-main"')[1]


def test_mirror_models_cannot_be_changed_by_hand(admin, library):
    response = admin.post("/admin/stash/tag/2/change/", {"name": "Hacked"})
    assert response.status_code == 403
    assert Tag.objects.get(pk=2).name == "Beach"
