"""The scenes API: the Scenes page's filters as query parameters, the detail's shape, auth and bad input."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from stash.models import Performer, Scene, SceneFile, SceneMarker, Studio, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(User.objects.create_user("scenes-api", password="correct-horse-battery"))
    return client


@pytest.fixture
def library():
    studio = Studio.objects.create(id=1, name="Acme")
    hug = Tag.objects.create(id=7, name="Hug")
    kiss = Tag.objects.create(id=8, name="Kiss")
    alice = Performer.objects.create(id=3, name="Alice")
    first = Scene.objects.create(id=101, title="Beach day", studio=studio, generated=True)
    first.tags.set([hug, kiss])
    first.performers.set([alice])
    SceneFile.objects.create(id=1001, scene=first, position=0, path="/lib/beach.mp4", basename="beach.mp4")
    SceneMarker.objects.create(id=5001, scene=first, title="Wave", seconds=12.5, primary_tag=hug)
    second = Scene.objects.create(id=102, title="City night", video_analyzed=True)
    second.tags.set([kiss])
    SceneFile.objects.create(id=1002, scene=second, position=0, path="/lib/city.mp4", basename="city.mp4")
    return first, second


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_the_list_pages_newest_first_with_the_rows_shape(api, library):
    response = api.get("/api/scenes/?limit=1")
    body = response.json()
    assert body["count"] == 2 and ids(response) == [102]
    row = body["results"][0]
    assert row["title"] == "City night" and row["video_analyzed"] is True and row["generated"] is False
    assert row["tags"] == [{"id": 8, "name": "Kiss"}] and row["studio"] is None
    assert row["files"][0]["path"] == "/lib/city.mp4" and row["page_url"] == "/scenes/102/"


def test_the_list_takes_the_scenes_pages_filters(api, library):
    assert ids(api.get("/api/scenes/?generated=yes")) == [101]
    assert ids(api.get("/api/scenes/?generated=no")) == [102]
    assert ids(api.get("/api/scenes/?tag=hug")) == [101]
    assert ids(api.get("/api/scenes/?tag=8")) == [102, 101]
    assert ids(api.get("/api/scenes/?performer=Alice")) == [101]
    assert ids(api.get("/api/scenes/?studio=acme")) == [101]
    assert ids(api.get("/api/scenes/?q=city")) == [102]
    assert ids(api.get("/api/scenes/?q=beach.mp4&video_analyzed=no")) == [101]
    assert ids(api.get("/api/scenes/?tag=nobody")) == []


def test_a_flag_value_it_cannot_read_is_a_400(api, library):
    response = api.get("/api/scenes/?generated=maybe")
    assert response.status_code == 400
    assert "generated" in response.json()


def test_the_detail_has_files_markers_and_the_long_fields(api, library):
    body = api.get("/api/scenes/101/").json()
    assert body["performers"] == [{"id": 3, "name": "Alice"}] and body["studio"] == {"id": 1, "name": "Acme"}
    assert body["markers"] == [
        {
            "id": 5001,
            "title": "Wave",
            "seconds": 12.5,
            "end_seconds": None,
            "primary_tag": {"id": 7, "name": "Hug"},
            "tags": [],
        }
    ]
    assert "details" in body and "urls" in body


@pytest.mark.parametrize("pk", ["999", "abc", "1" * 30])
def test_an_unknown_or_malformed_id_is_a_json_404(api, library, pk):
    response = api.get(f"/api/scenes/{pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such scene in the mirror."}


def test_anonymous_requests_are_refused(library):
    assert APIClient().get("/api/scenes/").status_code == 401
    assert APIClient().get("/api/scenes/101/").status_code == 401
